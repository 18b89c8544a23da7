// A builder of DIR instructions for code generated inside the compiler
// (automatic differentiation, tangent arithmetic), with the tangent-space
// helpers of Note [Zero tangent arrays] (ir/Builder.cpp).
#pragma once

#include "frontend/Assert.h"
#include "ir/IR.h"

#include <set>
#include <unordered_map>
#include <string>
#include <vector>

namespace dlc::ir {

using sema::TypeKind;

inline Instr unreachableInstr() {
  Instr in;
  in.op = Op::Unreachable;
  return in;
}

/// Appends instructions to one function under construction. The function is
/// a standalone object (not yet in the module), so module growth while it is
/// built cannot invalidate it.
class Builder {
public:
  Builder(Module &module, Function &f) : module(module), f(f) {}

  Module &module;
  Function &f;
  BlockId cur;
  SourceLoc loc;                 // given to instructions that can trap
  std::set<uint32_t> knownZeros; // values zero() made (see add)
  /// The tuples and structs this builder made (Tuple, TupleSet, StructMake,
  /// StructSet), by result: a get of one folds to the part it was made from
  /// (Note [Folding gets of built aggregates]).
  std::unordered_map<uint32_t, Instr> aggregates;

  sema::TypeContext &types() { return *module.types; }
  BlockId block(std::string name) { return f.addBlock(std::move(name)); }
  void at(BlockId b) { cur = b; }
  ValueId arg(BlockId b, const Type *t, std::string name = {}) {
    ValueId v = f.addValue(t, std::move(name));
    f.block(b).args.push_back(v);
    return v;
  }
  const Type *typeOf(ValueId v) const { return f.typeOf(v); }

  ValueId emit(Op op, const Type *type, std::vector<ValueId> operands, int64_t imm = 0) {
    if ((op == Op::StructGet || op == Op::TupleGet) && operands.size() == 1)
      if (ValueId part = builtPart(operands[0], imm); part.isValid())
        return part;
    Instr in;
    in.op = op;
    if (!ir::hasNoResult(op))
      in.result = f.addValue(type);
    in.operands = std::move(operands);
    in.imm = imm;
    in.loc = loc;
    if (op == Op::StructMake || op == Op::StructSet || op == Op::Tuple || op == Op::TupleSet)
      aggregates[in.result.index] = in;
    f.block(cur).instrs.push_back(std::move(in));
    return f.block(cur).instrs.back().result;
  }
  /// Part `k` of tuple or struct `agg` when this builder made `agg` (through
  /// sets down to a make); invalid otherwise.
  ValueId builtPart(ValueId agg, int64_t k) const {
    for (;;) {
      auto it = aggregates.find(agg.index);
      if (it == aggregates.end())
        return ValueId();
      const Instr &in = it->second;
      if (in.op == Op::StructMake || in.op == Op::Tuple)
        return size_t(k) < in.operands.size() ? in.operands[size_t(k)] : ValueId();
      if (in.imm == k)
        return in.operands[1];
      agg = in.operands[0];
    }
  }
  ValueId constInt(int64_t v) { return emit(Op::ConstInt, types().intType(), {}, v); }
  ValueId constBool(bool v) { return emit(Op::ConstBool, types().boolType(), {}, v ? 1 : 0); }
  ValueId constFloat(const Type *t, double v) {
    ValueId r = emit(Op::ConstFloat, t, {});
    f.block(cur).instrs.back().fimm = v;
    return r;
  }
  ValueId tuple(const std::vector<ValueId> &elements) {
    std::vector<const Type *> ts;
    for (ValueId e : elements)
      ts.push_back(typeOf(e));
    return emit(Op::Tuple, types().tupleType(ts), elements);
  }
  ValueId get(ValueId t, size_t i) {
    return emit(Op::TupleGet, sema::asTuple(typeOf(t))->elements[i], {t}, int64_t(i));
  }
  ValueId tensor(TensorOp op, const Type *type, std::vector<ValueId> operands) {
    return emit(Op::Tensor, type, std::move(operands), int64_t(op));
  }
  ValueId call(FuncId callee, std::vector<ValueId> args) {
    ValueId r = emit(Op::Call, module.function(callee).type->result, std::move(args));
    f.block(cur).instrs.back().callee = callee;
    return r;
  }
  ValueId closure(FuncId callee, const Type *type, std::vector<ValueId> captures) {
    ValueId r = emit(Op::MakeClosure, type, std::move(captures));
    f.block(cur).instrs.back().callee = callee;
    return r;
  }
  void br(BlockId target, std::vector<ValueId> args) {
    Instr in;
    in.op = Op::Br;
    in.targets.push_back({target, std::move(args)});
    f.block(cur).instrs.push_back(std::move(in));
  }
  void condBr(ValueId c, BlockId t, std::vector<ValueId> targs, BlockId e,
              std::vector<ValueId> eargs) {
    Instr in;
    in.op = Op::CondBr;
    in.operands = {c};
    in.targets.push_back({t, std::move(targs)});
    in.targets.push_back({e, std::move(eargs)});
    f.block(cur).instrs.push_back(std::move(in));
  }
  void ret(ValueId v) {
    Instr in;
    in.op = Op::Ret;
    in.operands = {v};
    f.block(cur).instrs.push_back(std::move(in));
  }
  void unreachable() {
    Instr in;
    in.op = Op::Unreachable;
    f.block(cur).instrs.push_back(std::move(in));
  }

  // --- Tangent-space arithmetic (Builder.cpp), shared by AD and the
  // lowering of tangent arithmetic ---
  /// The zero of tangent type `t` (an empty array stands for zeros of any length).
  ValueId zero(const Type *t);
  /// a + b in tangent type `t`. Arrays accumulate into the longer operand in
  /// place: only for values nobody else sees (AD's adjoints).
  ValueId add(ValueId a, ValueId b);
  ValueId neg(ValueId a);
  /// The tangent at element `i` of tangent array `a`, or zero when `a` is empty.
  ValueId elementOrZero(ValueId a, ValueId i);
  /// `a` as an array of `n` elements: itself, or zeros when empty.
  ValueId materialize(ValueId a, ValueId n);
  ValueId scalar(const Type *t, double v) { return constFloat(t, v); }
  /// A tangent handed to the user, with every zero tensor in it replaced by
  /// zeros shaped like the matching part of `primal` (Note [Zero tangent tensors]).
  ValueId materializeLike(ValueId tangent, ValueId primal);
};

/// Whether values of type t hold tensors directly or in tuples and structs.
bool containsTensor(const Type *t);
/// Whether values of type `t` hold references the compiler counts: tensors,
/// arrays, strings and closures, and tuples and structs holding any (Notes
/// [Tensor ownership], [Array ownership] and [Closure ownership],
/// ir/Ownership.cpp).
bool isRefcounted(const Type *t);

} // namespace dlc::ir
