// What the tape can leave out: loops record one iteration count per run
// instead of one trace entry per iteration (Note [Counted loops]), and the
// pullback recomputes cheap values instead of reading them from the tape
// (Note [Rematerialization]). Reverse.cpp plans and emits with these.
#include "ad/ReverseEmitter.h"

#include <algorithm>

namespace dlc::ad {

// Note [Counted loops]
// A loop header has two predecessors, so the trace would record one entry
// per iteration. For a natural loop with one entry edge and one back edge,
// F.fwd instead counts the iterations in a block argument of the header (0
// on entry, +1 on the back edge) and pushes the count on the trace once, on
// each edge that leaves the loop. F.bwd pops it on the way back in, carries
// it as part of its state, and at the header's adjoint block goes round
// again (count - 1, to the latch) until the count is 0 (to the entry).
void ReverseEmitter::findLoops() {
  size_t nb = src.blocks.size();
  loops.clear();
  loopOf.assign(nb, -1);
  for (size_t h = 1; h < nb; ++h) {
    if (!act.reachable[h] || predsOf[h].size() != 2)
      continue;
    int found = -1;
    Loop loop;
    for (int j = 0; j < 2; ++j) {
      size_t latch = predsOf[h][size_t(j)], entry = predsOf[h][size_t(1 - j)];
      // The natural loop of latch -> h: h and every block that reaches the
      // latch without passing h.
      std::vector<bool> body(nb, false);
      body[h] = true;
      std::vector<size_t> work{latch};
      while (!work.empty()) {
        size_t x = work.back();
        work.pop_back();
        if (body[x])
          continue;
        body[x] = true;
        for (size_t p : predsOf[x])
          work.push_back(p);
      }
      // One way in: not through the function's entry, and not through the
      // other predecessor (which would make it a second back edge).
      if (body[0] || body[entry])
        continue;
      if (found >= 0) {
        found = -2;
        break;
      }
      found = j;
      loop = Loop{h, entry, latch, std::move(body)};
    }
    if (found < 0)
      continue;
    loopOf[h] = int(loops.size());
    loops.push_back(std::move(loop));
  }
}

std::vector<size_t> ReverseEmitter::loopsLeft(size_t from, size_t to) const {
  std::vector<size_t> left;
  for (size_t l = 0; l < loops.size(); ++l)
    if (loops[l].body[from] && !loops[l].body[to])
      left.push_back(l);
  // Nested loops' bodies are nested: the innermost is the smallest.
  auto size = [&](size_t l) {
    return std::count(loops[l].body.begin(), loops[l].body.end(), true);
  };
  std::sort(left.begin(), left.end(), [&](size_t a, size_t b) { return size(a) < size(b); });
  return left;
}

// Note [Rematerialization]
// Values that are cheap to recompute from what the pullback has anyway are
// recomputed at the top of the adjoint block instead of being saved: the
// tape's size, not the arithmetic, bounds the speed of a gradient over large
// loops. The pullback has the parameters (arrays are values: a parameter's
// elements cannot change), constants, and in a counted loop's body the
// iteration count (Note [Counted loops]), which gives an induction variable
// `i` (start s on entry, i + k on the back edge) as s + count * k. On top of
// these it recomputes scalar + - * / % and conversions, elements of
// parameter arrays, counts of parameter arrays, and calls of pure functions
// of scalars returning Int or Bool (index arithmetic such as `k * d + r`).
// Every recomputation repeats one the forward pass made without trapping.
void ReverseEmitter::findInductions() {
  inductions.clear();
  for (size_t l = 0; l < loops.size(); ++l) {
    const Loop &loop = loops[l];
    const ir::Block &h = src.blocks[loop.header];
    auto argsFrom = [&](size_t from) -> const std::vector<ValueId> * {
      for (const ir::Target &t : src.blocks[from].instrs.back().targets)
        if (t.block.index == loop.header)
          return &t.args;
      return nullptr;
    };
    const std::vector<ValueId> *in = argsFrom(loop.entry), *back = argsFrom(loop.latch);
    if (!in || !back)
      continue;
    for (size_t a = 0; a < h.args.size(); ++a) {
      ValueId v = h.args[a];
      if (src.typeOf(v) != types().intType())
        continue;
      const Instr *next = defOf[(*back)[a].index];
      if (!next || next->op != Op::Add)
        continue;
      ValueId x = next->operands[0], k = next->operands[1];
      if (x != v)
        std::swap(x, k);
      if (x != v || !isConst[k.index])
        continue;
      inductions[v.index] = Induction{l, (*in)[a], defOf[k.index]->imm};
    }
  }
}

bool ReverseEmitter::pureScalar(FuncId id) {
  auto memo = pureMemo.find(id.index);
  if (memo != pureMemo.end())
    return memo->second;
  pureMemo[id.index] = false; // while looking: recursion is not pure enough
  const Function &f = d.module.function(id);
  auto scalar = [](const Type *t) {
    return t->kind == TypeKind::Int || t->kind == TypeKind::Bool || t->isFloatingPoint();
  };
  if (f.isExtern || f.blocks.empty() || !scalar(f.type->result))
    return false;
  for (const Type *p : f.type->params)
    if (!scalar(p))
      return false;
  for (const ir::Block &blk : f.blocks)
    for (const Instr &in : blk.instrs) {
      switch (in.op) {
      case Op::Print:
      case Op::Exit:
      case Op::Clock:
      case Op::Args:
      case Op::Environment:
      case Op::CallClosure:
      case Op::MakeClosure:
      case Op::Derivative:
        return false;
      case Op::Call:
        if (!pureScalar(in.callee))
          return false;
        break;
      default:
        if (in.result.isValid() && f.typeOf(in.result)->isManaged())
          return false;
      }
    }
  return pureMemo[id.index] = true;
}

bool ReverseEmitter::remat(ValueId v, size_t block, int depth) {
  if (isConst[v.index] || isParam(v))
    return true;
  if (depth > 12)
    return false;
  auto key = std::make_pair(block, v.index);
  if (auto it = rematMemo.find(key); it != rematMemo.end())
    return it->second;
  bool ok = false;
  if (auto ind = inductions.find(v.index); ind != inductions.end()) {
    ok = loops[ind->second.loop].body[block] && remat(ind->second.start, block, depth + 1);
  } else if (const Instr *def = defOf[v.index]) {
    auto all = [&] {
      for (ValueId o : def->operands)
        if (!remat(o, block, depth + 1))
          return false;
      return true;
    };
    const Type *t = src.typeOf(v);
    bool scalar = t->kind == TypeKind::Int || t->isFloatingPoint();
    switch (def->op) {
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Rem:
    case Op::Neg:
    case Op::Convert:
      ok = scalar && all();
      break;
    case Op::ArrayCount:
      ok = isParam(def->operands[0]);
      break;
    case Op::ArrayGet:
      ok = isParam(def->operands[0]) && !t->isManaged() && all();
      break;
    case Op::Call:
      ok = (t->kind == TypeKind::Int || t->kind == TypeKind::Bool) && pureScalar(def->callee) &&
           all();
      break;
    default:
      break;
    }
  }
  rematMemo[key] = ok;
  return ok;
}

/// A recomputation repeats an operation that ran without trapping: array
/// reads need no bounds check and Int arithmetic no overflow check.
static void markRecomputed(Instr &c) {
  switch (c.op) {
  case Op::ArrayGet:
  case Op::Add:
  case Op::Sub:
  case Op::Mul:
  case Op::Div:
  case Op::Rem:
  case Op::Neg:
    c.imm = 1;
    break;
  default:
    break;
  }
}

/// A call of a pure function with one block, recomputed: its body, inlined
/// (invalid when the callee has more blocks).
ValueId ReverseEmitter::inlinePure(Builder &b, FuncId callee, const std::vector<ValueId> &args) {
  const Function &f = d.module.function(callee);
  if (f.blocks.size() != 1)
    return ValueId{};
  for (const Instr &in : f.blocks[0].instrs)
    if (in.op == Op::Call)
      return ValueId{};
  std::map<uint32_t, ValueId> map;
  for (size_t i = 0; i < args.size(); ++i)
    map[f.blocks[0].args[i].index] = args[i];
  for (const Instr &in : f.blocks[0].instrs) {
    if (in.op == Op::Ret)
      return map.at(in.operands[0].index);
    Instr c = in;
    for (ValueId &o : c.operands)
      o = map.at(o.index);
    markRecomputed(c);
    c.result = b.f.addValue(f.typeOf(in.result));
    b.f.block(b.cur).instrs.push_back(c);
    map[in.result.index] = c.result;
  }
  return ValueId{};
}

/// Computed by F's entry block from parameters and constants only: the
/// pullback can compute it once, in its own entry block. (Only F's entry
/// block: every operation there ran in the forward pass, so recomputing it
/// cannot trap where F did not.)
bool ReverseEmitter::entryInvariant(ValueId v) {
  if (isConst[v.index] || isParam(v))
    return true;
  const Instr *def = defOf[v.index];
  if (!def || defBlock[v.index] != 0 || !remat(v, 0) || inductions.count(v.index))
    return false;
  for (ValueId o : def->operands)
    if (!entryInvariant(o))
      return false;
  return true;
}

ValueId ReverseEmitter::emitInEntry(Builder &b, ValueId v) {
  if (isConst[v.index] || isParam(v))
    return P(b, v);
  if (auto it = entryRemat.find(v.index); it != entryRemat.end())
    return it->second;
  const Instr *def = defOf[v.index];
  Instr c = *def;
  for (ValueId &o : c.operands)
    o = emitInEntry(b, o);
  markRecomputed(c);
  c.result = b.f.addValue(src.typeOf(v));
  b.f.block(b.cur).instrs.push_back(c);
  return entryRemat[v.index] = c.result;
}

ValueId ReverseEmitter::emitRemat(Builder &b, ValueId v) {
  if (auto it = loaded.find(Save{v, false}); it != loaded.end())
    return it->second;
  if (isConst[v.index] || isParam(v))
    return P(b, v);
  if (entryInvariant(v)) {
    auto it = entryRemat.find(v.index);
    if (it == entryRemat.end()) {
      // Insert before the entry block's terminator.
      BlockId here = b.cur;
      Instr term = b.f.block(bwdEntry).instrs.back();
      b.f.block(bwdEntry).instrs.pop_back();
      b.at(bwdEntry);
      emitInEntry(b, v);
      b.f.block(bwdEntry).instrs.push_back(std::move(term));
      b.at(here);
      it = entryRemat.find(v.index);
    }
    return loaded[Save{v, false}] = it->second;
  }
  ValueId r;
  if (auto ind = inductions.find(v.index); ind != inductions.end()) {
    const Type *intTy = types().intType();
    ValueId n = cursors[stackTypes.size() + ind->second.loop];
    // With step 1 the sum is a value the forward pass reached, so it cannot
    // overflow (imm 1: unchecked); n * step on its own could, so other steps
    // keep their checks.
    int64_t step = ind->second.step;
    ValueId steps = step == 1 ? n : b.emit(Op::Mul, intTy, {n, b.constInt(step)});
    r = b.emit(Op::Add, intTy, {emitRemat(b, ind->second.start), steps}, step == 1 ? 1 : 0);
  } else {
    const Instr *def = defOf[v.index];
    DLC_ASSERT(def, "only instruction results are recomputed");
    Instr c = *def;
    for (ValueId &o : c.operands)
      o = emitRemat(b, o);
    if (c.op == Op::Call && (r = inlinePure(b, c.callee, c.operands)).isValid()) {
      loaded[Save{v, false}] = r;
      return r;
    }
    markRecomputed(c);
    c.result = b.f.addValue(src.typeOf(v));
    c.loc = def->loc;
    b.f.block(b.cur).instrs.push_back(c);
    r = c.result;
  }
  loaded[Save{v, false}] = r;
  return r;
}

// Note [Trip counts without the tape]
// A counted loop pushes its count on each edge that leaves it (Note [Counted
// loops]). When the count follows from values the pullback recomputes
// anyway, the tape needs none: the loop leaves only from its header, whose
// test is `i < bound` or `i <= bound` on an induction variable i of step 1
// (a `for` over a range), the block it leaves to heads no loop (so every
// loop around it is in the same iteration as when the header tested), and
// the pullback can recompute the induction's start and the bound there
// (Note [Rematerialization]). The count is then max(0, bound - start), plus
// one for a closed range. So `for c in 0..<r` inside `for r in 0..<d` costs
// the tape nothing, where it pushed one Int per r.
void ReverseEmitter::findTripCounts() {
  tripCounts.assign(loops.size(), TripCount{});
  for (size_t l = 0; l < loops.size(); ++l) {
    const Loop &loop = loops[l];
    bool otherExit = false;
    for (size_t bi = 0; bi < src.blocks.size() && !otherExit; ++bi) {
      if (!loop.body[bi] || bi == loop.header || !act.reachable[bi])
        continue;
      const Instr &term = src.blocks[bi].instrs.back();
      if (term.op == Op::Ret)
        otherExit = true;
      for (const ir::Target &t : term.targets)
        otherExit |= !loop.body[t.block.index];
    }
    const Instr &term = src.blocks[loop.header].instrs.back();
    if (otherExit || term.op != Op::CondBr || term.targets.size() != 2 ||
        !loop.body[term.targets[0].block.index] || loop.body[term.targets[1].block.index])
      continue;
    size_t exitTo = term.targets[1].block.index;
    const Instr *test = defOf[term.operands[0].index];
    if (loopOf[exitTo] >= 0 || !test || defBlock[term.operands[0].index] != loop.header ||
        (test->op != Op::CmpLt && test->op != Op::CmpLe))
      continue;
    auto ind = inductions.find(test->operands[0].index);
    if (ind == inductions.end() || ind->second.loop != l || ind->second.step != 1)
      continue;
    ValueId start = ind->second.start, bound = test->operands[1];
    if (!remat(start, exitTo) || !remat(bound, exitTo))
      continue;
    tripCounts[l] = TripCount{true, start, bound, test->op == Op::CmpLe};
  }
}

std::vector<size_t> ReverseEmitter::taped(const std::vector<size_t> &left) const {
  std::vector<size_t> out;
  for (size_t l : left)
    if (!tripCounts[l].computed)
      out.push_back(l);
  return out;
}

ValueId ReverseEmitter::emitTripCount(Builder &b, size_t l) {
  const TripCount &tc = tripCounts[l];
  const Type *intTy = types().intType();
  ValueId start = emitRemat(b, tc.start), bound = emitRemat(b, tc.bound);
  // When the body ran, bound - start (+ 1) is the number of times it ran, so
  // it cannot overflow (imm 1: unchecked); otherwise the select drops it.
  ValueId ran = b.emit(tc.inclusive ? Op::CmpLe : Op::CmpLt, types().boolType(), {start, bound});
  ValueId n = b.emit(Op::Sub, intTy, {bound, start}, 1);
  if (tc.inclusive)
    n = b.emit(Op::Add, intTy, {n, b.constInt(1)}, 1);
  return b.emit(Op::Select, intTy, {ran, n, b.constInt(0)});
}

// Note [Array counts without the tape]
// The adjoint of `a[i]` accumulates into a's adjoint, which it sizes by a's
// count when it is still empty (Note [Zero tangent arrays]), so the tape
// saved a's count at every read of a non-parameter array. An array's count
// often follows from where it was made: `Array(repeating:count: n)` has n
// elements, `a[i] = x` keeps a's count, a parameter's count is at hand, and a
// block argument has the count all its incoming values agree on (a loop that
// only sets elements keeps the count it started with). When that count is
// an Int the pullback can recompute at the read (Note [Rematerialization]),
// or a parameter's count, nothing is saved.
ReverseEmitter::CountSource ReverseEmitter::countSource(ValueId v, std::set<uint32_t> &visiting,
                                                        int &budget) {
  if (isParam(v))
    return CountSource{v, true};
  if (--budget < 0)
    return CountSource{};
  if (const Instr *def = defOf[v.index]) {
    if (def->op == Op::ArrayRepeat)
      return CountSource{def->operands[1]};
    if (def->op == Op::ArraySet)
      return countSource(def->operands[0], visiting, budget);
    return CountSource{};
  }
  size_t bi = defBlock[v.index];
  if (bi == SIZE_MAX || bi == 0)
    return CountSource{};
  if (!visiting.insert(v.index).second)
    return CountSource{ValueId(), false, true};
  const auto &args = src.blocks[bi].args;
  size_t a = 0;
  while (a < args.size() && args[a] != v)
    ++a;
  CountSource agreed{ValueId(), false, true};
  bool ok = a < args.size();
  for (size_t p : predsOf[bi]) {
    for (const ir::Target &t : src.blocks[p].instrs.back().targets) {
      if (!ok)
        break;
      if (t.block.index != bi)
        continue;
      CountSource c = countSource(t.args[a], visiting, budget);
      if (c.pending)
        continue;
      if (!c.known())
        ok = false;
      else if (agreed.pending)
        agreed = c;
      else if (agreed.value != c.value || agreed.ofParam != c.ofParam)
        ok = false;
    }
  }
  visiting.erase(v.index);
  return ok ? agreed : CountSource{};
}

ReverseEmitter::CountSource ReverseEmitter::untapedCount(ValueId v, size_t block) {
  std::set<uint32_t> visiting;
  int budget = 64;
  CountSource c = countSource(v, visiting, budget);
  if (!c.known() || (!c.ofParam && !remat(c.value, block)))
    return CountSource{};
  return c;
}

} // namespace dlc::ad
