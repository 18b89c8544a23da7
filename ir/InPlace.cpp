// In-place array writes: marks `array.set` and `array.append` instructions
// (imm = 1) that may write into their operand instead of copying it, because
// no other live value can see the operand's buffer. Arrays have value
// semantics and DIR is pure, so this is the one place where sharing matters.
//
// Note [In-place array writes]
// Values that may share a buffer form an alias class: a branch argument and
// the block argument it feeds, the operand and result of array.set, of
// array.append and of the in-place ops AD emits. A class qualifies when
//   - every value in it comes from a fresh array (array, array.repeat, a
//     copying array.set or array.append), a block argument or an in-place op
//     of the class: no parameter, call result or element of an aggregate,
//     which someone else may hold; and
//   - no value in it escapes while the class can still write to it. A use is
//     a read (array.get, array.count, print, a call whose result holds no
//     memory), a write (operand 0 of array.set, array.append and the in-place
//     ops), a branch argument, or an escape (anything else: saving the array
//     on a tape, storing it in an aggregate, passing it to a call that may
//     keep it). An escape is harmless when no value of the class reaches a
//     write or a branch after it: every later value of the class then starts
//     from a fresh buffer, so the escaped one is never written again.
// A write of a qualifying class happens in place when no other value of the
// class is live after it: the old contents are then unobservable. An
// in-place append grows the buffer by realloc, which may move it; that is
// safe for the same reason. A class disqualified only by a foreign source
// and written inside a loop gets a copy of that source instead (Note
// [Copying foreign sources], below), and then qualifies.
#include "ir/InPlace.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace dlc::ir {

namespace {

class InPlaceMarker {
public:
  explicit InPlaceMarker(const Module &module, Function &f) : module(module), f(f) {}

  void run() {
    analyze();
    if (copyForeignSources())
      analyze();
    mark();
  }

private:
  /// The alias classes, and which are disqualified and why.
  void analyze() {
    size_t n = f.values.size();
    parent.assign(n, 0);
    std::iota(parent.begin(), parent.end(), 0u);
    defBlock.assign(n, SIZE_MAX);
    defPos.assign(n, -1);
    for (size_t b = 0; b < f.blocks.size(); ++b) {
      for (ValueId a : f.blocks[b].args)
        defBlock[a.index] = b;
      const auto &instrs = f.blocks[b].instrs;
      for (size_t k = 0; k < instrs.size(); ++k) {
        const Instr &in = instrs[k];
        if (in.result.isValid()) {
          defBlock[in.result.index] = b;
          defPos[in.result.index] = long(k);
        }
        for (const Target &t : in.targets)
          for (size_t i = 0; i < t.args.size(); ++i)
            if (isArray(t.args[i]))
              unite(t.args[i], f.block(t.block).args[i]);
        if (sharesOperand(in.op) && isArray(in.operands[0]))
          unite(in.operands[0], in.result);
      }
    }
    // Disqualify classes with a foreign source or an escaping use.
    bad.assign(n, false);
    escaped.assign(n, false);
    foreign.clear();
    struct Escape {
      size_t block, pos;
      ValueId value;
    };
    std::vector<Escape> escapes;
    auto spoil = [&](ValueId v) {
      bad[find(v.index)] = true;
      foreign.push_back(v);
    };
    for (size_t b = 0; b < f.blocks.size(); ++b) {
      if (b == 0)
        for (ValueId p : f.blocks[0].args)
          if (isArray(p))
            spoil(p);
      for (const Instr &in : f.blocks[b].instrs) {
        if (in.result.isValid() && isArray(in.result) && !freshOrShared(in.op))
          spoil(in.result);
        for (size_t o = 0; o < in.operands.size(); ++o)
          if (isArray(in.operands[o]) && !allowedUse(in, o))
            escapes.push_back({b, size_t(&in - f.blocks[b].instrs.data()), in.operands[o]});
      }
    }
    // An escape spoils its class only if the escaped buffer can still be
    // written afterwards: when some value of the class may reach a write
    // after it.
    for (const Escape &e : escapes) {
      uint32_t cls = find(e.value.index);
      if (escaped[cls])
        continue;
      for (size_t v = 0; v < n; ++v)
        if (find(uint32_t(v)) == cls &&
            liveAfter(ValueId{uint32_t(v)}, e.block, e.pos, /*writesOnly=*/true)) {
          bad[cls] = escaped[cls] = true;
          break;
        }
    }
  }

  /// Note [Copying foreign sources]: a class disqualified only by a foreign
  /// source (a parameter, a call's result), with a write inside a loop, such
  /// as `var y = a` then `y[i] = ...` in a loop, would copy the whole array
  /// at every write. Copying the foreign value once where it enters the
  /// class (`array.copy`) gives the class a fresh buffer instead: its writes
  /// then happen in place. The foreign value itself keeps its other uses.
  /// Returns whether the function changed.
  bool copyForeignSources() {
    std::vector<bool> cyclic = blocksInCycles();
    std::vector<bool> wanted(f.values.size(), false);
    bool any = false;
    for (size_t b = 0; b < f.blocks.size(); ++b)
      for (const Instr &in : f.blocks[b].instrs)
        if ((in.op == Op::ArraySet || in.op == Op::ArrayAppend) && cyclic[b]) {
          uint32_t cls = find(in.operands[0].index);
          if (bad[cls] && !escaped[cls])
            wanted[cls] = any = true;
        }
    if (!any)
      return false;
    std::vector<ValueId> sources;
    for (ValueId v : foreign)
      if (wanted[find(v.index)])
        sources.push_back(v);
    // Later definitions first, so each insertion leaves the positions of
    // the ones still to come as they are.
    std::sort(sources.begin(), sources.end(), [&](ValueId x, ValueId y) {
      return std::make_pair(defBlock[x.index], defPos[x.index]) >
             std::make_pair(defBlock[y.index], defPos[y.index]);
    });
    for (ValueId v : sources) {
      ValueId copy = f.addValue(f.typeOf(v), f.values[v.index].name);
      // Uses that join the class: writes and in-place operations on v, and
      // branch arguments (every array block argument is in its class).
      for (Block &b : f.blocks)
        for (Instr &in : b.instrs) {
          if (sharesOperand(in.op) && !in.operands.empty() && in.operands[0] == v)
            in.operands[0] = copy;
          for (Target &t : in.targets)
            for (ValueId &a : t.args)
              if (a == v)
                a = copy;
        }
      Instr make;
      make.op = Op::ArrayCopy;
      make.result = copy;
      make.operands = {v};
      size_t b = defBlock[v.index];
      auto &instrs = f.blocks[b].instrs;
      long at = defPos[v.index] + 1; // 0 for a parameter
      make.loc = at > 0 ? instrs[size_t(at - 1)].loc : f.loc;
      instrs.insert(instrs.begin() + at, std::move(make));
    }
    return true;
  }

  /// Blocks that can reach themselves.
  std::vector<bool> blocksInCycles() const {
    size_t nb = f.blocks.size();
    std::vector<bool> cyclic(nb, false);
    for (size_t start = 0; start < nb; ++start) {
      std::vector<bool> seen(nb, false);
      std::vector<size_t> work;
      for (const Target &t : f.blocks[start].instrs.back().targets)
        work.push_back(t.block.index);
      while (!work.empty() && !cyclic[start]) {
        size_t s = work.back();
        work.pop_back();
        if (s == start)
          cyclic[start] = true;
        if (seen[s])
          continue;
        seen[s] = true;
        for (const Target &t : f.blocks[s].instrs.back().targets)
          work.push_back(t.block.index);
      }
    }
    return cyclic;
  }

  /// Marks the writes of qualifying classes after which no other value of
  /// the class is live.
  void mark() {
    size_t n = f.values.size();
    for (size_t b = 0; b < f.blocks.size(); ++b) {
      auto &instrs = f.blocks[b].instrs;
      for (size_t k = 0; k < instrs.size(); ++k) {
        Instr &in = instrs[k];
        if ((in.op != Op::ArraySet && in.op != Op::ArrayAppend) || bad[find(in.operands[0].index)])
          continue;
        bool safe = true;
        uint32_t cls = find(in.operands[0].index);
        for (size_t v = 0; v < n && safe; ++v)
          if (find(uint32_t(v)) == cls && v != in.result.index &&
              liveAfter(ValueId{uint32_t(v)}, b, k))
            safe = false;
        if (safe)
          in.imm = 1;
      }
    }
  }

  const Module &module;
  Function &f;
  std::vector<uint32_t> parent;
  std::vector<bool> bad;        // per class: writes must copy
  std::vector<bool> escaped;    // per class: disqualified by an escape
  std::vector<ValueId> foreign; // values that disqualify their classes as sources
  std::vector<size_t> defBlock;
  std::vector<long> defPos;

  bool isArray(ValueId v) const { return f.typeOf(v)->kind == sema::TypeKind::Array; }
  uint32_t find(uint32_t v) {
    while (parent[v] != v)
      v = parent[v] = parent[parent[v]];
    return v;
  }
  void unite(ValueId a, ValueId b) { parent[find(a.index)] = find(b.index); }

  static bool sharesOperand(Op op) {
    return op == Op::ArraySet || op == Op::ArrayAppend || op == Op::StackPush ||
           op == Op::ArrayAccum || op == Op::ArrayTruncate || op == Op::ArrayMaterialize;
  }
  static bool freshOrShared(Op op) {
    return op == Op::ArrayMake || op == Op::ArrayRepeat || op == Op::ArrayCopy || sharesOperand(op);
  }
  bool allowedUse(const Instr &in, size_t o) const {
    switch (in.op) {
    case Op::ArrayGet:
    case Op::ArrayCount:
    case Op::Print:
    case Op::ArrayCopy:
    case Op::Tensor: // the runtime reads shapes and elements; it keeps no array
      return true;
    case Op::ArraySet:
    case Op::ArrayAppend:
    case Op::StackPush:
    case Op::ArrayAccum:
    case Op::ArrayTruncate:
    case Op::ArrayMaterialize:
      return o == 0;
    case Op::Call: {
      // A call only reads its arguments unless its result could hold them.
      const Function &callee = module.function(in.callee);
      return !callee.type->result->isManaged();
    }
    default:
      return false;
    }
  }

  /// Does `in` use `v`? With writesOnly, only uses that may write v's buffer
  /// count: operand 0 of array.set and of the in-place ops, and branch
  /// arguments, which may flow to such a write.
  bool usesValue(const Instr &in, ValueId v, bool writesOnly) const {
    if (writesOnly) {
      if (sharesOperand(in.op) && !in.operands.empty() && in.operands[0] == v)
        return true;
    } else {
      for (ValueId o : in.operands)
        if (o == v)
          return true;
    }
    for (const Target &t : in.targets)
      for (ValueId a : t.args)
        if (a == v)
          return true;
    return false;
  }

  /// Is `v` used after instruction k of block b, on a path that does not
  /// pass v's definition first?
  bool liveAfter(ValueId v, size_t b, size_t k, bool writesOnly = false) const {
    const auto &instrs = f.blocks[b].instrs;
    for (size_t j = k + 1; j < instrs.size(); ++j) {
      if (long(j) == defPos[v.index] && defBlock[v.index] == b)
        return false;
      if (usesValue(instrs[j], v, writesOnly))
        return true;
    }
    std::vector<bool> seen(f.blocks.size(), false);
    std::vector<size_t> work;
    for (const Target &t : instrs.back().targets)
      work.push_back(t.block.index);
    while (!work.empty()) {
      size_t s = work.back();
      work.pop_back();
      if (seen[s])
        continue;
      seen[s] = true;
      if (defBlock[v.index] == s && defPos[v.index] < 0)
        continue; // a block argument: redefined on entry
      bool redefined = false;
      for (size_t j = 0; j < f.blocks[s].instrs.size(); ++j) {
        if (defBlock[v.index] == s && long(j) == defPos[v.index]) {
          redefined = true;
          break;
        }
        if (usesValue(f.blocks[s].instrs[j], v, writesOnly))
          return true;
      }
      if (redefined)
        continue;
      for (const Target &t : f.blocks[s].instrs.back().targets)
        work.push_back(t.block.index);
    }
    return false;
  }
};

// Note [Accumulations in range]
// `array.accum a, i, v, n` pads a to n elements first when it is shorter,
// which is a runtime call inside the loops of a pullback: LLVM then cannot
// keep array counts or pointers in registers across it. When a is known to
// hold at least n elements the check goes (imm = 1). What is known: for each
// array value, an array X with count(value) >= count(X), where n is
// `array.count X`: the result of `array.materialize _, n` and of
// `array.accum _, _, _, n` has it, and a block argument has it when every
// branch into it passes values that have it for the same X. X is an SSA
// value, so its count never changes. The pullback starts the adjoints of
// array parameters at their parameters' length (ad/Reverse.cpp), so their
// accumulations in loops are all in range.
void markAccumulationsInRange(Function &f) {
  size_t n = f.values.size();
  // kTop: not reached yet; kNone: nothing known; else the index of X.
  const uint32_t kTop = UINT32_MAX, kNone = UINT32_MAX - 1;
  std::vector<uint32_t> atLeast(n, kTop);
  std::vector<const Instr *> def(n, nullptr);
  for (const Block &b : f.blocks)
    for (const Instr &in : b.instrs)
      if (in.result.isValid())
        def[in.result.index] = &in;
  auto countOf = [&](ValueId v) -> uint32_t {
    const Instr *d = def[v.index];
    return d && d->op == Op::ArrayCount ? d->operands[0].index : kNone;
  };
  auto meet = [&](uint32_t &into, uint32_t v) {
    uint32_t was = into;
    if (v != kTop)
      into = into == kTop || into == v ? v : kNone;
    return into != was;
  };
  for (ValueId p : f.blocks[0].args)
    atLeast[p.index] = kNone;
  for (bool changed = true; changed;) {
    changed = false;
    for (const Block &b : f.blocks)
      for (const Instr &in : b.instrs) {
        if (in.result.isValid() && f.typeOf(in.result)->kind == sema::TypeKind::Array) {
          uint32_t known = in.op == Op::ArrayMaterialize ? countOf(in.operands[1])
                           : in.op == Op::ArrayAccum     ? countOf(in.operands[3])
                                                         : kNone;
          changed |= meet(atLeast[in.result.index], known);
        }
        for (const Target &t : in.targets)
          for (size_t i = 0; i < t.args.size(); ++i) {
            ValueId arg = f.block(t.block).args[i];
            if (f.typeOf(arg)->kind == sema::TypeKind::Array)
              changed |= meet(atLeast[arg.index], atLeast[t.args[i].index]);
          }
      }
  }
  for (Block &b : f.blocks)
    for (Instr &in : b.instrs)
      if (in.op == Op::ArrayAccum) {
        uint32_t known = atLeast[in.operands[0].index];
        in.imm = known < kNone && known == countOf(in.operands[3]) ? 1 : 0;
      }
}

} // namespace

void markInPlaceUpdates(Module &module) {
  for (Function &f : module.functions)
    if (!f.isExtern && !f.blocks.empty()) {
      InPlaceMarker(module, f).run();
      markAccumulationsInRange(f);
    }
}

} // namespace dlc::ir
