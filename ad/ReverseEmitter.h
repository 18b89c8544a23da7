// ReverseEmitter: reverse mode for one function and one set of active
// parameters (ad/Reverse.cpp, Note [Tapes]). Internal to ad/: Reverse.cpp
// plans the tape and emits F.fwd and F.bwd; Recompute.cpp decides what the
// tape can leave out (Notes [Counted loops] and [Rematerialization]).
#pragma once

#include "ad/ADImpl.h"

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace dlc::ad {

/// A value the pullback needs: a primal value, or the count of an array
/// operand read just before its instruction ran.
struct Save {
  ValueId value;
  bool count = false; // the count of array `value`
  bool tape = false;  // the callee tape of call `value`
  bool deriv = false; // the local derivative of `value` (cos x for sin x), computed next
                      // to it so that LLVM can pair sin and cos into one sincos
  friend bool operator<(const Save &a, const Save &b) {
    return std::make_tuple(a.value, a.count, a.tape, a.deriv) <
           std::make_tuple(b.value, b.count, b.tape, b.deriv);
  }
};

class ReverseEmitter {
public:
  ReverseEmitter(Differentiator &d, FuncId srcId, const Function &src, const Activity &act,
                 const Differentiator::Mask &mask)
      : d(d), srcId(srcId), src(src), act(act), mask(mask) {}

  void plan();
  Function emitForward(const std::string &name, const sema::FunctionType *type);
  Function emitBackward(const std::string &name, const sema::FunctionType *type);

  const Type *tapeType = nullptr;

private:
  Differentiator &d;
  FuncId srcId;
  const Function &src;
  const Activity &act;
  const Differentiator::Mask &mask;
  sema::TypeContext &types() { return d.types(); }

  // --- Plan ---
  struct CallPlan {
    bool differentiated = false;
    bool recursive = false; // inside F's cycle: use vjpFull
    FuncId fwd, bwd;        // otherwise
    Differentiator::Mask mask;
  };
  struct SaveEntry {
    Save key;
    size_t stack;
  };
  std::vector<std::vector<SaveEntry>> saves;                           // per block, push order
  std::map<std::pair<size_t, size_t>, std::vector<Save>> countsBefore; // (block, instr)
  std::vector<const Type *> stackTypes; // element type per stack; [0] is the trace (Int)
  std::map<std::pair<const Type *, bool>, size_t> stackOf; // (element type, holds callee tapes)
  std::map<std::pair<size_t, size_t>, CallPlan> calls;     // (block, instr) -> plan
  std::vector<int> slotOf;                                 // per value, -1 when local
  std::vector<ValueId> slotValues;                         // slot -> source value
  std::vector<size_t> defBlock;                            // per value
  std::vector<bool> multiPred;                             // per block: pushes its predecessor
  std::vector<size_t> singlePred;                          // per block: its predecessor if unique
  std::vector<const Instr *> defOf;                        // per value: its instruction, if any
  bool isParam(ValueId v) const;
  // Note [Rematerialization]
  std::vector<std::vector<ValueId>> rematIn;             // per block: recomputed, in need order
  std::map<std::pair<size_t, uint32_t>, bool> rematMemo; // (block, value)
  std::map<uint32_t, bool> pureMemo;                     // callee -> pure scalar function
  struct Induction {
    size_t loop;
    ValueId start;
    int64_t step;
  };
  std::map<uint32_t, Induction> inductions; // header argument -> its recurrence
  void findInductions();
  bool remat(ValueId v, size_t block, int depth = 0);
  bool pureScalar(FuncId f);
  ValueId emitRemat(Builder &b, ValueId v);
  bool entryInvariant(ValueId v);
  ValueId emitInEntry(Builder &b, ValueId v);
  ValueId inlinePure(Builder &b, FuncId callee, const std::vector<ValueId> &args);
  BlockId bwdEntry;                         // F.bwd's entry block
  std::map<uint32_t, ValueId> entryRemat;   // recomputed there, once
  std::vector<std::vector<size_t>> predsOf; // per block: its reachable predecessors
  // Note [Counted loops]
  struct Loop {
    size_t header, entry, latch;
    std::vector<bool> body;
  };
  std::vector<Loop> loops;
  std::vector<int> loopOf; // per block: the loop it heads, or -1
  void findLoops();
  /// The loops that edge from -> to leaves, innermost first.
  std::vector<size_t> loopsLeft(size_t from, size_t to) const;
  std::vector<bool> isConst; // per value: defined by a constant
  // Note [Trip counts without the tape]
  struct TripCount {
    bool computed = false; // the pullback computes the count; the tape has none
    ValueId start, bound;  // the induction's start and the header's bound
    bool inclusive = false; // `i <= bound` (a closed range) rather than `i < bound`
  };
  std::vector<TripCount> tripCounts; // per loop
  void findTripCounts();
  /// The loops of `left` whose counts the tape holds.
  std::vector<size_t> taped(const std::vector<size_t> &left) const;
  ValueId emitTripCount(Builder &b, size_t loop);
  // Note [Array counts without the tape]
  struct CountSource {
    ValueId value;        // an Int equal to the count, or the parameter array counted
    bool ofParam = false; // `value` is a parameter array
    bool pending = false; // a block argument still being looked at (agrees with anything)
    bool known() const { return value.isValid() && !pending; }
  };
  CountSource countSource(ValueId array, std::set<uint32_t> &visiting, int &budget);
  /// How the pullback gets the count of array `v` at `block` without the
  /// tape, when it can (Note [Array counts without the tape]).
  CountSource untapedCount(ValueId v, size_t block);

  bool isActive(ValueId v) const { return act.active(v); }
  const Type *tanType(ValueId v) { return types().tangentType(src.typeOf(v)); }
  void need(size_t block, size_t instr, std::set<Save> &seen, ValueId v, bool count = false);
  /// The stack for values of type t; callee tapes get stacks of their own
  /// (the order of pops does not depend on it; --emit ir reads better).
  size_t stackFor(const Type *t, bool calleeTapes = false) {
    auto it = stackOf.find({t, calleeTapes});
    if (it != stackOf.end())
      return it->second;
    stackTypes.push_back(t);
    return stackOf[{t, calleeTapes}] = stackTypes.size() - 1;
  }
  const Type *typeOfSave(const Save &s) {
    return s.count ? types().intType() : src.typeOf(s.value);
  }
  void adjointRule(Builder &b, const Instr &in, size_t block, size_t index, ValueId g);

  // --- Backward emission state ---
  std::vector<ValueId> params;       // bwd parameters (the primal's)
  ValueId ct;                        // the result cotangent
  std::vector<ValueId> stacks;       // read from the tape
  std::vector<ValueId> cursors;      // current, within an adjoint block
  std::vector<ValueId> slots;        // current slot values
  std::map<uint32_t, ValueId> local; // current local adjoints
  std::map<Save, ValueId> loaded;    // saved values popped in this block
  size_t revBlock = 0;               // the source block whose adjoint is being emitted
  ValueId P(Builder &b, ValueId v);  // a primal value in the pullback
  /// The count of array v when its instruction ran.
  ValueId count(Builder &b, ValueId v);
  void accum(Builder &b, ValueId v, ValueId g);
  /// The adjoint of v, reset; invalid if none.
  ValueId take(Builder &b, ValueId v);
};

} // namespace dlc::ad
