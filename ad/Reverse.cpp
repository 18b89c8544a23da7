// Reverse mode: F.fwd (the augmented primal) and F.bwd (the pullback).
//
// Note [Tapes]
// F.fwd is F with a tape threaded through every block as extra arguments: a
// trace stack of the control path, and one stack per type of the values the
// pullback needs (operands of nonlinear operations, array counts, callee
// tapes). A block with several predecessors pushes, on entry, the index of
// the one it came from; every block pushes its saved values before its
// terminator, and the returning block its own index; F.fwd returns
// (result, tape).
//
// F.bwd(params..., tape, result cotangent) walks the trace backwards. A
// dispatch block pops the index of the block that returned and jumps to that
// block's adjoint block, which pops the block's saved values (in reverse),
// propagates cotangents through the terminator and then the instructions in
// reverse order, and jumps to the adjoint block of its predecessor: the only
// one, or the one the trace names (a block with several predecessors pushed
// where it came from). Adjoints of values used only in their own block stay
// SSA values; the others (block arguments, parameters, values used in other
// blocks) live in "slots" that every adjoint block carries as arguments.
// Branch arguments receive the slots of the target block's arguments, which
// are then reset: the trace guarantees the target's adjoint block ran just
// before. Loops, early exits and data-dependent trip counts need nothing
// more. Calls use the callee's fwd/bwd and keep its tape on ours; a call
// inside a recursive cycle re-runs the callee (vjpFull), since tape types
// cannot contain themselves. What the tape can leave out (loop iterations,
// values the pullback can recompute) is decided in ad/Recompute.cpp.
#include "ad/ReverseEmitter.h"

#include <map>
#include <set>

namespace dlc::ad {

bool ReverseEmitter::isParam(ValueId v) const {
  for (ValueId p : src.blocks[0].args)
    if (p == v)
      return true;
  return false;
}

void ReverseEmitter::need(size_t block, size_t instr, std::set<Save> &seen, ValueId v, bool count) {
  if (!count && isConst[v.index])
    return; // rematerialized
  if (isParam(v))
    return; // the pullback receives the parameters (and can count them)
  // Recomputed in the pullback instead (Note [Rematerialization]); so is an
  // element of a parameter array whose index this block saves anyway.
  if (!count) {
    const Instr *def = defOf[v.index];
    bool cheap = remat(v, block) || (def && def->op == Op::ArrayGet && isParam(def->operands[0]) &&
                                     seen.count(Save{def->operands[1], false}));
    if (cheap) {
      if (seen.insert(Save{v, false, false, false}).second)
        rematIn[block].push_back(v);
      return;
    }
  }
  if (count) {
    // Known from where the array was made (Note [Array counts without the tape]).
    if (CountSource c = untapedCount(v, block); c.known()) {
      if (!c.ofParam)
        need(block, instr, seen, c.value);
      return;
    }
  }
  Save s{v, count};
  if (seen.insert(s).second) {
    saves[block].push_back({s, stackFor(typeOfSave(s))});
    if (count)
      countsBefore[{block, instr}].push_back(s);
  }
}

void ReverseEmitter::plan() {
  size_t nb = src.blocks.size();
  // Predecessor edges: a block reached from one place needs no trace entry.
  std::vector<unsigned> preds(nb, 0);
  singlePred.assign(nb, SIZE_MAX);
  predsOf.assign(nb, {});
  for (size_t bi = 0; bi < nb; ++bi)
    if (act.reachable[bi])
      for (const ir::Target &t : src.blocks[bi].instrs.back().targets) {
        ++preds[t.block.index];
        singlePred[t.block.index] = bi;
        predsOf[t.block.index].push_back(bi);
      }
  multiPred.assign(nb, false);
  for (size_t bi = 0; bi < nb; ++bi)
    multiPred[bi] = preds[bi] > 1;
  findLoops();
  saves.assign(nb, {});
  rematIn.assign(nb, {});
  stackTypes = {types().intType()};
  stackOf.clear();
  defBlock.assign(src.values.size(), SIZE_MAX);
  isConst.assign(src.values.size(), false);
  defOf.assign(src.values.size(), nullptr);
  for (size_t bi = 0; bi < nb; ++bi) {
    for (ValueId a : src.blocks[bi].args)
      defBlock[a.index] = bi;
    for (const Instr &in : src.blocks[bi].instrs)
      if (in.result.isValid()) {
        defBlock[in.result.index] = bi;
        defOf[in.result.index] = &in;
        isConst[in.result.index] =
            in.op == Op::ConstFloat || in.op == Op::ConstInt || in.op == Op::ConstBool;
      }
  }
  findInductions();
  findTripCounts();
  // Slots: active block arguments, and active values used outside their block.
  slotOf.assign(src.values.size(), -1);
  auto addSlot = [&](ValueId v) {
    if (slotOf[v.index] < 0 && isActive(v)) {
      slotOf[v.index] = int(slotValues.size());
      slotValues.push_back(v);
    }
  };
  for (size_t bi = 0; bi < nb; ++bi) {
    if (!act.reachable[bi])
      continue;
    for (ValueId a : src.blocks[bi].args)
      addSlot(a);
    for (const Instr &in : src.blocks[bi].instrs) {
      for (ValueId o : in.operands)
        if (defBlock[o.index] != bi)
          addSlot(o);
      for (const ir::Target &t : in.targets)
        for (ValueId o : t.args)
          if (defBlock[o.index] != bi)
            addSlot(o);
    }
  }
  // Saved values, per block.
  for (size_t bi = 0; bi < nb; ++bi) {
    if (!act.reachable[bi])
      continue;
    std::set<Save> seen;
    const auto &instrs = src.blocks[bi].instrs;
    for (size_t k = 0; k < instrs.size(); ++k) {
      const Instr &in = instrs[k];
      if (!in.result.isValid() || !isActive(in.result))
        continue;
      auto &o = in.operands;
      auto nd = [&](size_t i) { need(bi, k, seen, o[i]); };
      auto activeOp = [&](size_t i) { return isActive(o[i]); };
      switch (in.op) {
      case Op::Mul:
        if (activeOp(0))
          nd(1);
        if (activeOp(1))
          nd(0);
        break;
      case Op::Div:
        nd(1);
        if (activeOp(1))
          nd(0);
        break;
      case Op::Sin:
      case Op::Cos: {
        Save s{in.result, false, false, true};
        if (seen.insert(s).second)
          saves[bi].push_back({s, stackFor(src.typeOf(in.result))});
        break;
      }
      case Op::Log:
      case Op::Log1p:
      case Op::Relu:
      case Op::Abs:
        nd(0);
        break;
      case Op::Tan:
      case Op::Exp:
      case Op::Sqrt:
      case Op::Tanh:
      case Op::Sigmoid:
        need(bi, k, seen, in.result);
        break;
      case Op::Pow:
        nd(0);
        nd(1);
        need(bi, k, seen, in.result);
        break;
      case Op::Min:
      case Op::Max:
        nd(0);
        nd(1);
        break;
      case Op::Select:
        nd(0);
        break;
      case Op::Tensor: {
        std::vector<size_t> ops;
        bool result = false;
        tensorAdjointNeeds(d.module, [&](size_t i) { return src.typeOf(o[i]); }, in, ops, result);
        for (size_t i : ops)
          nd(i);
        if (result)
          need(bi, k, seen, in.result);
        break;
      }
      case Op::ArrayGet:
        nd(1);
        need(bi, k, seen, o[0], true);
        break;
      case Op::ArraySet:
      case Op::ArrayAccum:
        nd(1);
        break;
      case Op::ArrayAppend:
      case Op::StackPush:
        need(bi, k, seen, o[0], true);
        break;
      case Op::Call: {
        CallPlan cp;
        cp.differentiated = true;
        const Function &callee = d.module.function(in.callee);
        // Only the active arguments need cotangents: a callee is
        // differentiated per set of active arguments (data closed over by a
        // lambda gets no gradient).
        cp.mask = d.fullMask(callee);
        for (size_t i = 0; i < o.size(); ++i)
          cp.mask[i] = cp.mask[i] && isActive(o[i]);
        cp.recursive = d.inSameCycle(srcId, in.callee);
        d.frames.push_back({displayName(callee.name), in.loc});
        if (cp.recursive) {
          d.vjpFull(in.callee, cp.mask);
        } else {
          auto fns = d.reverse(in.callee, cp.mask);
          cp.fwd = fns.fwd;
          cp.bwd = fns.bwd;
        }
        d.frames.pop_back();
        for (size_t i = 0; i < o.size(); ++i)
          nd(i);
        calls[{bi, k}] = cp;
        if (!cp.recursive) {
          // The callee's tape is a value of this block: saved under a
          // placeholder Save keyed by the call's result with count=true.
          const Type *tape = sema::asTuple(d.module.function(cp.fwd).type->result)->elements[1];
          Save s{in.result, false, true};
          seen.insert(s);
          saves[bi].push_back({s, stackFor(tape, true)});
        }
        break;
      }
      default:
        break;
      }
    }
  }
  std::vector<const Type *> parts;
  for (const Type *t : stackTypes)
    parts.push_back(types().arrayType(t));
  tapeType = types().tupleType(parts);
}

Function ReverseEmitter::emitForward(const std::string &name, const sema::FunctionType *type) {
  Function out;
  out.name = name;
  out.type = type;
  out.loc = src.loc;
  Builder b(d.module, out);
  size_t nb = src.blocks.size();
  std::vector<ValueId> vmap(src.values.size());
  std::vector<BlockId> bmap(nb);
  std::vector<std::vector<ValueId>> stackArgs(nb);
  std::vector<ValueId> fromArgs(nb);
  for (size_t bi = 0; bi < nb; ++bi)
    if (act.reachable[bi])
      bmap[bi] = b.block(src.blocks[bi].name);
  for (size_t bi = 0; bi < nb; ++bi) {
    if (!act.reachable[bi])
      continue;
    for (ValueId a : src.blocks[bi].args)
      vmap[a.index] = b.arg(bmap[bi], src.typeOf(a), src.values[a.index].name);
    if (loopOf[bi] >= 0)
      fromArgs[bi] = b.arg(bmap[bi], types().intType(), "iter");
    else if (multiPred[bi])
      fromArgs[bi] = b.arg(bmap[bi], types().intType(), "from");
    if (bi != 0)
      for (const Type *t : stackTypes)
        stackArgs[bi].push_back(b.arg(bmap[bi], types().arrayType(t), "tape"));
  }
  for (size_t bi : reversePostorder(src)) {
    b.at(bmap[bi]);
    std::vector<ValueId> st;
    if (bi == 0) {
      for (const Type *t : stackTypes)
        st.push_back(b.emit(Op::ArrayMake, types().arrayType(t), {}));
    } else {
      st = stackArgs[bi];
    }
    // The trace (Note [Tapes]): a block with several predecessors records
    // which one it came from, unless it heads a counted loop.
    if (multiPred[bi] && loopOf[bi] < 0)
      st[0] = b.emit(Op::StackPush, b.typeOf(st[0]), {st[0], fromArgs[bi]});
    std::map<Save, ValueId> savedHere;
    const auto &instrs = src.blocks[bi].instrs;
    for (size_t k = 0; k < instrs.size(); ++k) {
      const Instr &in = instrs[k];
      b.loc = in.loc;
      // Counts of array operands, read before the instruction runs.
      if (auto cb = countsBefore.find({bi, k}); cb != countsBefore.end())
        for (const Save &sv : cb->second)
          savedHere[sv] = b.emit(Op::ArrayCount, types().intType(), {vmap[sv.value.index]});
      if (ir::isTerminator(in.op)) {
        // Push the saved values, one push per stack, then branch with the
        // stacks.
        std::vector<std::vector<ValueId>> pushes(st.size());
        for (const SaveEntry &e : saves[bi]) {
          ValueId v = e.key.count || e.key.tape || e.key.deriv ? savedHere.at(e.key)
                                                               : vmap[e.key.value.index];
          if (pushes[e.stack].empty())
            pushes[e.stack].push_back(st[e.stack]);
          pushes[e.stack].push_back(v);
        }
        for (size_t k = 0; k < st.size(); ++k)
          if (!pushes[k].empty())
            st[k] = b.emit(Op::StackPush, b.typeOf(st[k]), pushes[k]);
        Instr c;
        c.op = in.op;
        c.loc = in.loc;
        for (ValueId o : in.operands)
          c.operands.push_back(vmap[o.index]);
        if (in.op == Op::Ret) {
          st[0] = b.emit(Op::StackPush, b.typeOf(st[0]), {st[0], b.constInt(int64_t(bi))});
          b.ret(b.tuple({vmap[in.operands[0].index], b.tuple(st)}));
          continue;
        }
        // Edges that leave counted loops push the loops' counts there
        // (Note [Counted loops]).
        std::vector<std::pair<BlockId, ir::Target>> exits;
        for (const ir::Target &t : in.targets) {
          size_t to = t.block.index;
          ir::Target nt{bmap[to], {}};
          for (ValueId a : t.args)
            nt.args.push_back(vmap[a.index]);
          if (int l = loopOf[to]; l >= 0)
            nt.args.push_back(loops[size_t(l)].latch == bi ? b.emit(Op::Add, types().intType(),
                                                                    {fromArgs[to], b.constInt(1)})
                                                           : b.constInt(0));
          else if (multiPred[to])
            nt.args.push_back(b.constInt(int64_t(bi)));
          std::vector<size_t> left = taped(loopsLeft(bi, to));
          if (!left.empty()) {
            BlockId edge = b.block("loop.exit");
            std::vector<ValueId> counts{st[0]};
            for (size_t l : left)
              counts.push_back(fromArgs[loops[l].header]);
            ValueId trace = b.f.addValue(b.typeOf(st[0]));
            nt.args.push_back(trace);
            for (size_t k = 1; k < st.size(); ++k)
              nt.args.push_back(st[k]);
            exits.push_back({edge, std::move(nt)});
            Instr push;
            push.op = Op::StackPush;
            push.result = trace;
            push.operands = std::move(counts);
            b.f.block(edge).instrs.push_back(std::move(push));
            c.targets.push_back(ir::Target{edge, {}});
            continue;
          }
          for (ValueId s : st)
            nt.args.push_back(s);
          c.targets.push_back(std::move(nt));
        }
        b.f.block(b.cur).instrs.push_back(std::move(c));
        for (auto &[edge, target] : exits) {
          Instr br;
          br.op = Op::Br;
          br.targets.push_back(std::move(target));
          b.f.block(edge).instrs.push_back(std::move(br));
        }
        continue;
      }
      auto cp = calls.find({bi, k});
      if (cp != calls.end() && !cp->second.recursive) {
        std::vector<ValueId> args;
        for (ValueId o : in.operands)
          args.push_back(vmap[o.index]);
        ValueId pair = b.call(cp->second.fwd, args);
        vmap[in.result.index] = b.get(pair, 0);
        savedHere[Save{in.result, false, true}] = b.get(pair, 1);
        continue;
      }
      Instr c = in;
      for (ValueId &o : c.operands)
        o = vmap[o.index];
      if (in.result.isValid()) {
        c.result = out.addValue(src.typeOf(in.result), src.values[in.result.index].name);
        vmap[in.result.index] = c.result;
      }
      out.block(b.cur).instrs.push_back(std::move(c));
      if ((in.op == Op::Sin || in.op == Op::Cos) && isActive(in.result)) {
        Op other = in.op == Op::Sin ? Op::Cos : Op::Sin;
        savedHere[Save{in.result, false, false, true}] =
            b.emit(other, src.typeOf(in.result), {vmap[in.operands[0].index]});
      }
    }
  }
  return out;
}

ValueId ReverseEmitter::P(Builder &b, ValueId v) {
  const auto &ps = src.blocks[0].args;
  for (size_t i = 0; i < ps.size(); ++i)
    if (ps[i] == v)
      return params[i];
  if (isConst[v.index]) {
    for (const ir::Block &blk : src.blocks)
      for (const Instr &in : blk.instrs)
        if (in.result == v) {
          Instr c = in;
          c.result = b.f.addValue(src.typeOf(v));
          b.f.block(b.cur).instrs.push_back(c);
          return c.result;
        }
  }
  auto it = loaded.find(Save{v, false});
  DLC_ASSERT(it != loaded.end(), "a value the pullback needs was neither saved nor recomputed");
  return it->second;
}

ValueId ReverseEmitter::count(Builder &b, ValueId v) {
  const auto &ps = src.blocks[0].args;
  for (size_t i = 0; i < ps.size(); ++i)
    if (ps[i] == v)
      return b.emit(Op::ArrayCount, types().intType(), {params[i]});
  if (auto it = loaded.find(Save{v, true}); it != loaded.end())
    return it->second;
  CountSource c = untapedCount(v, revBlock);
  DLC_ASSERT(c.known(), "an array count the pullback needs was neither saved nor known");
  return c.ofParam ? b.emit(Op::ArrayCount, types().intType(), {P(b, c.value)})
                   : emitRemat(b, c.value);
}

void ReverseEmitter::accum(Builder &b, ValueId v, ValueId g) {
  if (!isActive(v))
    return;
  int s = slotOf[v.index];
  if (s >= 0) {
    slots[s] = b.add(slots[s], g);
    return;
  }
  auto it = local.find(v.index);
  if (it == local.end())
    local[v.index] = g;
  else
    it->second = b.add(it->second, g);
}

ValueId ReverseEmitter::take(Builder &b, ValueId v) {
  int s = slotOf[v.index];
  if (s >= 0) {
    ValueId g = slots[s];
    slots[s] = b.zero(tanType(v));
    return g;
  }
  auto it = local.find(v.index);
  if (it == local.end())
    return ValueId{};
  ValueId g = it->second;
  local.erase(it);
  return g;
}

void ReverseEmitter::adjointRule(Builder &b, const Instr &in, size_t block, size_t index,
                                 ValueId g) {
  auto &o = in.operands;
  auto A = [&](size_t i) { return P(b, o[i]); };
  auto R = [&]() { return P(b, in.result); };
  auto on = [&](size_t i) { return i < o.size() && isActive(o[i]); };
  const Type *t = b.typeOf(g);
  auto mul = [&](ValueId x, ValueId y) { return b.emit(Op::Mul, b.typeOf(x), {x, y}); };
  auto div = [&](ValueId x, ValueId y) { return b.emit(Op::Div, b.typeOf(x), {x, y}); };
  auto sub = [&](ValueId x, ValueId y) { return b.emit(Op::Sub, b.typeOf(x), {x, y}); };
  auto one = [&]() { return b.constFloat(t, 1.0); };
  auto cmp = [&](Op op, ValueId x, ValueId y) { return b.emit(op, types().boolType(), {x, y}); };
  auto sel = [&](ValueId c, ValueId x, ValueId y) {
    return b.emit(Op::Select, b.typeOf(x), {c, x, y});
  };
  if (in.op == Op::Tensor) {
    tensorAdjoint(
        b, in, A, R, on, [&](size_t i) { return src.typeOf(o[i]); }, g,
        [&](size_t i, ValueId gi) { accum(b, o[i], gi); });
    return;
  }
  switch (in.op) {
  case Op::Add:
    accum(b, o[0], g);
    accum(b, o[1], g);
    return;
  case Op::Sub:
    accum(b, o[0], g);
    if (on(1))
      accum(b, o[1], b.neg(g));
    return;
  case Op::Mul:
    if (on(0))
      accum(b, o[0], mul(g, A(1)));
    if (on(1))
      accum(b, o[1], mul(g, A(0)));
    return;
  case Op::Div:
    if (on(0))
      accum(b, o[0], div(g, A(1)));
    if (on(1)) {
      ValueId bb = A(1);
      accum(b, o[1], b.neg(div(mul(g, A(0)), mul(bb, bb))));
    }
    return;
  case Op::Neg:
    accum(b, o[0], b.neg(g));
    return;
  case Op::Convert:
    accum(b, o[0], b.emit(Op::Convert, tanType(o[0]), {g}));
    return;
  case Op::Sin: // the saved derivative is cos(x)
    accum(b, o[0], mul(g, loaded.at(Save{in.result, false, false, true})));
    return;
  case Op::Cos: // the saved derivative is sin(x)
    accum(b, o[0], b.neg(mul(g, loaded.at(Save{in.result, false, false, true}))));
    return;
  case Op::Tan: {
    ValueId r = R();
    accum(b, o[0], mul(g, b.add(one(), mul(r, r))));
    return;
  }
  case Op::Exp:
    accum(b, o[0], mul(g, R()));
    return;
  case Op::Log:
    accum(b, o[0], div(g, A(0)));
    return;
  case Op::Log1p:
    accum(b, o[0], div(g, b.add(one(), A(0))));
    return;
  case Op::Sqrt:
    accum(b, o[0], div(g, mul(b.constFloat(t, 2.0), R())));
    return;
  case Op::Tanh: {
    ValueId r = R();
    accum(b, o[0], mul(g, sub(one(), mul(r, r))));
    return;
  }
  case Op::Sigmoid: {
    ValueId r = R();
    accum(b, o[0], mul(g, mul(r, sub(one(), r))));
    return;
  }
  case Op::Relu:
    accum(b, o[0], sel(cmp(Op::CmpGt, A(0), b.constFloat(t, 0.0)), g, b.constFloat(t, 0.0)));
    return;
  case Op::Abs:
    accum(b, o[0], mul(g, b.emit(Op::Sign, t, {A(0)})));
    return;
  case Op::Pow:
    if (on(0)) {
      ValueId e = A(1);
      accum(b, o[0], mul(g, mul(e, b.emit(Op::Pow, t, {A(0), sub(e, one())}))));
    }
    if (on(1))
      accum(b, o[1], mul(g, mul(R(), b.emit(Op::Log, t, {A(0)}))));
    return;
  case Op::Min:
  case Op::Max: {
    ValueId first = cmp(in.op == Op::Min ? Op::CmpLe : Op::CmpGe, A(0), A(1));
    ValueId z = b.constFloat(t, 0.0);
    if (on(0))
      accum(b, o[0], sel(first, g, z));
    if (on(1))
      accum(b, o[1], sel(first, z, g));
    return;
  }
  case Op::Select: {
    ValueId c = A(0);
    ValueId z = b.zero(t);
    if (on(1))
      accum(b, o[1], sel(c, g, z));
    if (on(2))
      accum(b, o[2], sel(c, z, g));
    return;
  }
  case Op::Tuple:
    for (size_t i = 0; i < o.size(); ++i)
      if (on(i))
        accum(b, o[i], b.get(g, i));
    return;
  case Op::TupleGet: {
    const Type *tt = tanType(o[0]);
    accum(b, o[0], b.emit(Op::TupleSet, tt, {b.zero(tt), g}, in.imm));
    return;
  }
  case Op::TupleSet:
    if (on(1))
      accum(b, o[1], b.get(g, size_t(in.imm)));
    if (on(0)) {
      const Type *et = sema::asTuple(t)->elements[size_t(in.imm)];
      accum(b, o[0], b.emit(Op::TupleSet, t, {g, b.zero(et)}, in.imm));
    }
    return;
  case Op::StructMake: {
    auto *st = sema::asStruct(src.typeOf(in.result));
    for (size_t i = 0; i < o.size(); ++i) {
      int k = types().tangentFieldIndex(st, unsigned(i));
      if (k >= 0 && on(i))
        accum(b, o[i], b.emit(Op::StructGet, sema::asStruct(t)->fields[k].type, {g}, k));
    }
    return;
  }
  case Op::StructGet: {
    int k = types().tangentFieldIndex(sema::asStruct(src.typeOf(o[0])), unsigned(in.imm));
    const Type *ts = tanType(o[0]);
    accum(b, o[0], b.emit(Op::StructSet, ts, {b.zero(ts), g}, k));
    return;
  }
  case Op::StructSet: {
    int k = types().tangentFieldIndex(sema::asStruct(src.typeOf(o[0])), unsigned(in.imm));
    if (k < 0) {
      accum(b, o[0], g);
      return;
    }
    const Type *ft = sema::asStruct(t)->fields[k].type;
    if (on(1))
      accum(b, o[1], b.emit(Op::StructGet, ft, {g}, k));
    if (on(0))
      accum(b, o[0], b.emit(Op::StructSet, t, {g, b.zero(ft)}, k));
    return;
  }
  case Op::ArrayMake:
    for (size_t i = 0; i < o.size(); ++i)
      if (on(i))
        accum(b, o[i], b.elementOrZero(g, b.constInt(int64_t(i))));
    return;
  case Op::ArrayRepeat: {
    // The sum of g's elements.
    const Type *et = sema::asArray(t)->element;
    const Type *intTy = types().intType();
    BlockId head = b.block("repeat.sum"), body = b.block("repeat.body"),
            done = b.block("repeat.done");
    ValueId n = b.emit(Op::ArrayCount, intTy, {g});
    b.br(head, {b.constInt(0), b.zero(et)});
    b.at(head);
    ValueId i = b.arg(head, intTy), acc = b.arg(head, et);
    ValueId total = b.arg(done, et);
    b.condBr(cmp(Op::CmpLt, i, n), body, {}, done, {acc});
    b.at(body);
    ValueId next = b.add(acc, b.emit(Op::ArrayGet, et, {g, i}));
    b.br(head, {b.emit(Op::Add, intTy, {i, b.constInt(1)}), next});
    b.at(done);
    accum(b, o[0], total);
    return;
  }
  case Op::ArrayGet: {
    if (!on(0))
      return;
    ValueId i = A(1), n = count(b, o[0]);
    const Type *ta = tanType(o[0]);
    if (t->isFloatingPoint()) {
      int s = slotOf[o[0].index];
      ValueId cur;
      if (s >= 0)
        cur = slots[s];
      else if (local.count(o[0].index))
        cur = local[o[0].index];
      else
        cur = b.zero(ta);
      ValueId updated = b.emit(Op::ArrayAccum, ta, {cur, i, g, n});
      if (s >= 0)
        slots[s] = updated;
      else
        local[o[0].index] = updated;
      return;
    }
    ValueId z = b.materialize(b.zero(ta), n);
    accum(b, o[0], b.emit(Op::ArraySet, ta, {z, i, g}));
    return;
  }
  case Op::ArraySet: {
    ValueId i = A(1);
    if (on(2))
      accum(b, o[2], b.elementOrZero(g, i));
    if (on(0)) {
      // g with element i cleared (g itself when empty).
      const Type *et = sema::asArray(t)->element;
      BlockId clear = b.block("set.clear"), done = b.block("set.done");
      ValueId rest = b.arg(done, t);
      ValueId n = b.emit(Op::ArrayCount, types().intType(), {g});
      b.condBr(cmp(Op::CmpEq, n, b.constInt(0)), done, {g}, clear, {});
      b.at(clear);
      // In place: g is this adjoint's only owner, as it is for array.accum
      // (Note [Zero tangent arrays]); a non-empty adjoint is full length.
      ValueId cleared = b.emit(Op::ArraySet, t, {g, i, b.zero(et)}, /*imm=*/1);
      b.br(done, {cleared});
      b.at(done);
      accum(b, o[0], rest);
    }
    return;
  }
  case Op::ArrayAppend:
  case Op::StackPush: {
    ValueId n = count(b, o[0]);
    for (size_t j = 1; j < o.size(); ++j)
      if (on(j))
        accum(b, o[j],
              b.elementOrZero(
                  g, j == 1 ? n
                            : b.emit(Op::Add, types().intType(), {n, b.constInt(int64_t(j - 1))})));
    if (on(0))
      accum(b, o[0], b.emit(Op::ArrayTruncate, t, {g, n}));
    return;
  }
  case Op::ArrayAccum:
    if (on(2))
      accum(b, o[2], b.elementOrZero(g, A(1)));
    accum(b, o[0], g);
    return;
  case Op::ArrayMaterialize:
  case Op::ArrayTruncate:
    accum(b, o[0], g);
    return;
  case Op::Call: {
    const CallPlan &cp = calls.at({block, index});
    std::vector<ValueId> args;
    for (size_t i = 0; i < o.size(); ++i)
      args.push_back(A(i));
    ValueId cts;
    if (cp.recursive) {
      args.push_back(g);
      cts = b.call(d.vjpFull(in.callee, cp.mask), args);
    } else {
      args.push_back(loaded.at(Save{in.result, false, true}));
      args.push_back(g);
      cts = b.call(cp.bwd, args);
    }
    for (size_t i = 0; i < o.size(); ++i)
      if (cp.mask[i] && on(i))
        accum(b, o[i], b.get(cts, i));
    return;
  }
  default:
    DLC_UNREACHABLE("no adjoint rule for an op that propagates activity");
  }
}

Function ReverseEmitter::emitBackward(const std::string &name, const sema::FunctionType *type) {
  Function out;
  out.name = name;
  out.type = type;
  out.loc = src.loc;
  Builder b(d.module, out);
  const Type *intTy = types().intType();
  BlockId entry = b.block("entry");
  for (ValueId p : src.blocks[0].args)
    params.push_back(b.arg(entry, src.typeOf(p), src.values[p.index].name));
  ValueId tape = b.arg(entry, tapeType, "tape");
  bwdEntry = entry;
  entryRemat.clear();
  ct = b.arg(entry, d.tangentOrUnit(src.type->result), "seed");
  b.at(entry);
  for (size_t k = 0; k < stackTypes.size(); ++k)
    stacks.push_back(b.get(tape, k));
  BlockId dispatch = b.block("dispatch"), pop = b.block("pop"), done = b.block("done");
  std::vector<ValueId> init;
  for (ValueId s : stacks)
    init.push_back(b.emit(Op::ArrayCount, intTy, {s}));
  for (size_t l = 0; l < loops.size(); ++l)
    init.push_back(b.constInt(0));
  // The adjoint of an array parameter of Float or Double whose elements the
  // function reads starts at the parameter's length rather than empty, so
  // the element accumulations of the loops that follow need no padding check
  // (ir/InPlace.cpp, Note [Accumulations in range]). A parameter the
  // function never reads keeps the empty adjoint (docs/DECISIONS.md).
  std::set<uint32_t> readParams;
  for (const ir::Block &sb : src.blocks)
    for (const Instr &in : sb.instrs)
      if (in.op == Op::ArrayGet)
        readParams.insert(in.operands[0].index);
  for (ValueId v : slotValues) {
    ValueId zero = b.zero(tanType(v));
    auto *at = sema::asArray(src.typeOf(v));
    if (at && at->element->isFloatingPoint() && defBlock[v.index] == 0 && !defOf[v.index] &&
        readParams.count(v.index))
      zero = b.materialize(zero, count(b, v));
    init.push_back(zero);
  }
  b.br(dispatch, init);

  // dispatch(cursors..., slots...) pops a block index from the trace; every
  // adjoint block takes the same state as arguments: a cursor per stack, an
  // iteration count per counted loop (kept with the cursors), the slots.
  size_t firstCount = stackTypes.size();
  auto stateArgs = [&](BlockId blk, std::vector<ValueId> &cs, std::vector<ValueId> &ss) {
    for (size_t k = 0; k < stackTypes.size(); ++k)
      cs.push_back(b.arg(blk, intTy, "cursor"));
    for (size_t l = 0; l < loops.size(); ++l)
      cs.push_back(b.arg(blk, intTy, "iter"));
    for (ValueId v : slotValues)
      ss.push_back(b.arg(blk, tanType(v), "d" + src.values[v.index].name));
  };
  std::vector<ValueId> dCursors, dSlots;
  stateArgs(dispatch, dCursors, dSlots);
  std::vector<ValueId> doneCursors, doneSlots;
  stateArgs(done, doneCursors, doneSlots);
  std::vector<size_t> order;
  for (size_t bi = 0; bi < src.blocks.size(); ++bi)
    if (act.reachable[bi])
      order.push_back(bi);
  std::vector<BlockId> revOf(src.blocks.size());
  std::vector<std::vector<ValueId>> revCursors(src.blocks.size()), revSlots(src.blocks.size());
  for (size_t bi : order) {
    revOf[bi] = b.block("rev." + src.blocks[bi].name);
    stateArgs(revOf[bi], revCursors[bi], revSlots[bi]);
  }
  auto withState = [&](const std::vector<ValueId> &cs, const std::vector<ValueId> &ss) {
    std::vector<ValueId> state = cs;
    state.insert(state.end(), ss.begin(), ss.end());
    return state;
  };
  b.at(dispatch);
  b.condBr(b.emit(Op::CmpGt, types().boolType(), {dCursors[0], b.constInt(0)}), pop, {}, done,
           withState(dCursors, dSlots));
  b.at(pop);
  ValueId traceCursor = b.emit(Op::Sub, intTy, {dCursors[0], b.constInt(1)}, 1);
  ValueId id = b.emit(Op::ArrayGet, intTy, {stacks[0], traceCursor}, 1);
  std::vector<ValueId> popped = dCursors;
  popped[0] = traceCursor;
  // Only blocks that end in `ret` or branch to a block with several
  // predecessors appear on the trace.
  std::vector<size_t> traced;
  for (size_t bi : order) {
    const Instr &term = src.blocks[bi].instrs.back();
    bool onTrace = term.op == Op::Ret;
    for (const ir::Target &t : term.targets)
      onTrace |= multiPred[t.block.index];
    if (onTrace)
      traced.push_back(bi);
  }
  if (traced.empty())
    traced.push_back(order.front());
  for (size_t j = 0; j + 1 < traced.size(); ++j) {
    BlockId next = b.block("dispatch.next");
    b.condBr(b.emit(Op::CmpEq, types().boolType(), {id, b.constInt(int64_t(traced[j]))}),
             revOf[traced[j]], withState(popped, dSlots), next, {});
    b.at(next);
  }
  b.br(revOf[traced.back()], withState(popped, dSlots));

  for (size_t bi : order) {
    const ir::Block &blk = src.blocks[bi];
    b.at(revOf[bi]);
    revBlock = bi;
    cursors = revCursors[bi];
    slots = revSlots[bi];
    local.clear();
    loaded.clear();
    // Pop this block's saved values, last pushed first.
    for (size_t s = saves[bi].size(); s-- > 0;) {
      const SaveEntry &e = saves[bi][s];
      size_t k = e.stack;
      cursors[k] = b.emit(Op::Sub, intTy, {cursors[k], b.constInt(1)}, 1);
      loaded[e.key] = b.emit(Op::ArrayGet, stackTypes[k], {stacks[k], cursors[k]}, 1);
    }
    // Then recompute what was not saved (Note [Rematerialization]).
    for (ValueId v : rematIn[bi])
      emitRemat(b, v);
    // The terminator.
    const Instr &term = blk.instrs.back();
    if (term.op == Op::Ret) {
      accum(b, term.operands[0], ct);
    } else {
      for (const ir::Target &t : term.targets)
        for (size_t a = 0; a < t.args.size(); ++a) {
          ValueId arg = src.block(t.block).args[a];
          if (!isActive(arg))
            continue;
          ValueId g = take(b, arg);
          accum(b, t.args[a], g);
        }
    }
    // The instructions, last first.
    for (size_t k = blk.instrs.size() - 1; k-- > 0;) {
      const Instr &in = blk.instrs[k];
      if (!in.result.isValid() || !isActive(in.result))
        continue;
      b.loc = in.loc;
      ValueId g = take(b, in.result);
      if (!g.isValid())
        continue;
      adjointRule(b, in, bi, k, g);
    }
    // Next: the entry block ends the walk; a block with one predecessor
    // continues there; a counted loop's header goes round again or leaves
    // (Note [Counted loops]); otherwise the trace says which of its
    // predecessors it came from. Testing only those keeps the branch local
    // and predictable, where a jump through one dispatch for every block
    // would not be.
    std::vector<ValueId> state = withState(cursors, slots);
    // Where to branch to go back from here to predecessor x: x's adjoint
    // block, through a block that pops the counts of the loops that the edge
    // x -> bi leaves (pushed innermost first).
    auto backTo = [&](size_t x,
                      std::vector<ValueId> cs) -> std::pair<BlockId, std::vector<ValueId>> {
      std::vector<size_t> left = loopsLeft(x, bi);
      if (left.empty())
        return {revOf[x], withState(cs, slots)};
      BlockId enter = b.block("loop.enter"), here = b.cur;
      b.at(enter);
      // What this block recomputes stays here: `here` has other successors.
      std::map<Save, ValueId> loadedHere = loaded;
      for (size_t j = left.size(); j-- > 0;) {
        if (tripCounts[left[j]].computed) {
          cs[firstCount + left[j]] = emitTripCount(b, left[j]);
          continue;
        }
        cs[0] = b.emit(Op::Sub, intTy, {cs[0], b.constInt(1)}, 1);
        cs[firstCount + left[j]] = b.emit(Op::ArrayGet, intTy, {stacks[0], cs[0]}, 1);
      }
      loaded = std::move(loadedHere);
      b.br(revOf[x], withState(cs, slots));
      b.at(here);
      return {enter, {}};
    };
    if (bi == 0) {
      b.br(done, state);
    } else if (int l = loopOf[bi]; l >= 0) {
      const Loop &loop = loops[size_t(l)];
      ValueId iter = cursors[firstCount + size_t(l)];
      auto [toEntry, entryArgs] = backTo(loop.entry, cursors);
      BlockId again = b.block("loop.back");
      b.condBr(b.emit(Op::CmpEq, types().boolType(), {iter, b.constInt(0)}), toEntry, entryArgs,
               again, {});
      b.at(again);
      std::vector<ValueId> cs = cursors;
      cs[firstCount + size_t(l)] = b.emit(Op::Sub, intTy, {iter, b.constInt(1)}, 1);
      auto [toLatch, latchArgs] = backTo(loop.latch, cs);
      b.br(toLatch, latchArgs);
    } else if (!multiPred[bi] && singlePred[bi] != SIZE_MAX) {
      auto [to, args] = backTo(singlePred[bi], cursors);
      b.br(to, args);
    } else if (multiPred[bi]) {
      std::vector<ValueId> popped = cursors;
      popped[0] = b.emit(Op::Sub, intTy, {cursors[0], b.constInt(1)}, 1);
      ValueId from = b.emit(Op::ArrayGet, intTy, {stacks[0], popped[0]}, 1);
      const std::vector<size_t> &ps = predsOf[bi];
      for (size_t j = 0; j + 1 < ps.size(); ++j) {
        BlockId next = b.block("from.next");
        auto [to, args] = backTo(ps[j], popped);
        b.condBr(b.emit(Op::CmpEq, types().boolType(), {from, b.constInt(int64_t(ps[j]))}), to,
                 args, next, {});
        b.at(next);
      }
      auto [to, args] = backTo(ps.back(), popped);
      b.br(to, args);
    } else {
      b.br(dispatch, state);
    }
  }

  // done: the parameters' adjoints.
  b.at(done);
  dSlots = doneSlots;
  std::vector<ValueId> result;
  const auto &ps = src.blocks[0].args;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!mask[i]) {
      result.push_back(b.tuple({}));
      continue;
    }
    const Type *tt = d.tangentOrUnit(src.typeOf(ps[i]));
    int s = slotOf[ps[i].index];
    result.push_back(s >= 0 ? dSlots[s] : b.zero(tt));
  }
  b.ret(b.tuple(result));
  return out;
}


Differentiator::ReverseFns Differentiator::reverse(FuncId fnId, const Mask &mask) {
  auto key = std::make_pair(fnId.index, mask);
  if (auto it = reverses.find(key); it != reverses.end())
    return it->second;
  DLC_ASSERT(!reversing.count(key), "reverse mode requested its own tape");
  reversing.insert(key);
  resolveDerivatives(fnId);
  Function src = module.function(fnId);
  if (src.customVJP.isValid()) {
    reversing.erase(key);
    return customReverse(fnId, mask);
  }
  bool ok = !src.isExtern;
  if (src.isExtern)
    reportNotDifferentiable(frames.empty() ? src.loc : frames.back().loc, src.name);
  Activity act;
  if (ok) {
    act = analyze(src, mask);
    ok = checkDifferentiable(src, act);
  }
  ReverseEmitter e(*this, fnId, src, act, mask);
  if (ok)
    e.plan();
  const Type *tape = ok ? e.tapeType : types().unitType();
  const Type *seed = tangentOrUnit(src.type->result);
  auto *fwdType =
      types().functionType(src.type->params, types().tupleType({src.type->result, tape}));
  std::vector<const Type *> bwdParams = src.type->params;
  bwdParams.push_back(tape);
  bwdParams.push_back(seed);
  auto *bwdType = types().functionType(bwdParams, paramTangentsType(src, mask));
  ReverseFns fns;
  fns.fwd = reserve(src.name + maskSuffix(src, mask) + ".fwd", fwdType, src.loc);
  fns.bwd = reserve(src.name + maskSuffix(src, mask) + ".bwd", bwdType, src.loc);
  reverses[key] = fns;
  reversing.erase(key);
  if (!ok) {
    for (auto [id, type] : {std::make_pair(fns.fwd, fwdType), std::make_pair(fns.bwd, bwdType)}) {
      Function stub = module.function(id);
      BlockId entry = stub.addBlock("entry");
      for (const Type *p : type->params)
        stub.block(entry).args.push_back(stub.addValue(p));
      stub.block(entry).instrs.push_back(unreachableInstr());
      install(id, std::move(stub));
    }
    return fns;
  }
  install(fns.fwd, e.emitForward(src.name + maskSuffix(src, mask) + ".fwd", fwdType));
  install(fns.bwd, e.emitBackward(src.name + maskSuffix(src, mask) + ".bwd", bwdType));
  return fns;
}

Differentiator::ReverseFns Differentiator::customReverse(FuncId fnId, const Mask &mask) {
  // fwd runs the function and keeps no tape; bwd calls the registered @vjp,
  // which returns the tangents of every differentiable parameter.
  Function src = module.function(fnId);
  const Type *tape = types().unitType();
  auto *fwdType =
      types().functionType(src.type->params, types().tupleType({src.type->result, tape}));
  std::vector<const Type *> bwdParams = src.type->params;
  bwdParams.push_back(tape);
  bwdParams.push_back(tangentOrUnit(src.type->result));
  auto *bwdType = types().functionType(bwdParams, paramTangentsType(src, mask));
  ReverseFns fns;
  fns.fwd = reserve(src.name + maskSuffix(src, mask) + ".fwd", fwdType, src.loc);
  fns.bwd = reserve(src.name + maskSuffix(src, mask) + ".bwd", bwdType, src.loc);
  reverses[{fnId.index, mask}] = fns;

  Function fwd = module.function(fns.fwd);
  {
    Builder b(module, fwd);
    BlockId entry = b.block("entry");
    b.at(entry);
    std::vector<ValueId> args;
    for (const Type *p : src.type->params)
      args.push_back(b.arg(entry, p));
    b.ret(b.tuple({b.call(fnId, args), b.tuple({})}));
  }
  install(fns.fwd, std::move(fwd));

  Function bwd = module.function(fns.bwd);
  {
    Builder b(module, bwd);
    BlockId entry = b.block("entry");
    b.at(entry);
    std::vector<ValueId> args;
    for (const Type *p : src.type->params)
      args.push_back(b.arg(entry, p));
    b.arg(entry, tape);
    ValueId seed = b.arg(entry, bwdParams.back(), "seed");
    std::vector<ValueId> callArgs = args;
    callArgs.push_back(seed);
    ValueId grads = b.call(src.customVJP, callArgs);
    Mask custom = fullMask(src);
    size_t count = 0;
    for (bool c : custom)
      count += c;
    std::vector<ValueId> parts;
    size_t next = 0;
    for (size_t i = 0; i < src.type->params.size(); ++i) {
      ValueId g;
      if (custom[i]) {
        g = count == 1 ? grads : b.get(grads, next);
        ++next;
      }
      parts.push_back(mask[i] ? (g.isValid() ? g : b.zero(tangentOrUnit(src.type->params[i])))
                              : b.tuple({}));
    }
    b.ret(b.tuple(parts));
  }
  install(fns.bwd, std::move(bwd));
  return fns;
}

FuncId Differentiator::vjpFull(FuncId fnId, const Mask &mask) {
  auto key = std::make_pair(fnId.index, mask);
  if (auto it = vjpFulls.find(key); it != vjpFulls.end())
    return it->second;
  const Function &src = module.function(fnId);
  std::vector<const Type *> params = src.type->params;
  params.push_back(tangentOrUnit(src.type->result));
  auto *type = types().functionType(params, paramTangentsType(src, mask));
  FuncId id = reserve(src.name + maskSuffix(src, mask) + ".vjp", type, src.loc);
  vjpFulls[key] = id;
  pendingVjpFull.push_back({fnId, mask});
  return id;
}

void Differentiator::emitPendingVjpFull() {
  while (!pendingVjpFull.empty()) {
    auto [fnId, mask] = pendingVjpFull.back();
    pendingVjpFull.pop_back();
    FuncId id = vjpFulls.at({fnId.index, mask});
    ReverseFns fns = reverse(fnId, mask);
    Function out = module.function(id);
    Builder b(module, out);
    BlockId entry = b.block("entry");
    b.at(entry);
    std::vector<ValueId> args;
    const auto &params = out.type->params;
    for (size_t i = 0; i + 1 < params.size(); ++i)
      args.push_back(b.arg(entry, params[i]));
    ValueId seed = b.arg(entry, params.back(), "seed");
    ValueId pair = b.call(fns.fwd, args);
    ValueId tape = b.get(pair, 1);
    args.push_back(tape);
    args.push_back(seed);
    ValueId grads = b.call(fns.bwd, args);
    b.ret(grads);
    install(id, std::move(out));
  }
}

} // namespace dlc::ad
