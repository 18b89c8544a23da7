// Activity analysis (varied x useful) and the differentiability reports of
// LANGUAGE.md §5.5. A value is varied when it depends on a differentiated
// parameter through differentiable data flow, useful when the result depends
// on it the same way, and active when both: only active values get tangents
// or adjoints. Conditions of branches are control, not data: code that
// branches on an active value is differentiated piecewise.
#include "ad/ADImpl.h"

#include <functional>

namespace dlc::ad {

namespace {

/// Ops whose result is a differentiable function of their differentiable operands.
bool propagatesOp(Op op) {
  switch (op) {
  case Op::Add:
  case Op::Sub:
  case Op::Mul:
  case Op::Div:
  case Op::Neg:
  case Op::Convert:
  case Op::Sin:
  case Op::Cos:
  case Op::Tan:
  case Op::Exp:
  case Op::Log:
  case Op::Log1p:
  case Op::Sqrt:
  case Op::Tanh:
  case Op::Sigmoid:
  case Op::Relu:
  case Op::Abs:
  case Op::Pow:
  case Op::Min:
  case Op::Max:
  case Op::Select:
  case Op::Tuple:
  case Op::TupleGet:
  case Op::TupleSet:
  case Op::StructMake:
  case Op::StructGet:
  case Op::StructSet:
  case Op::ArrayMake:
  case Op::ArrayRepeat:
  case Op::ArrayGet:
  case Op::ArraySet:
  case Op::ArrayAppend:
  case Op::StackPush:
  case Op::ArrayAccum:
  case Op::ArrayMaterialize:
  case Op::ArrayTruncate:
  case Op::Call:
    return true;
  default:
    return false;
  }
}

bool propagates(const Instr &in) {
  return in.op == Op::Tensor ? tensorPropagates(in) : propagatesOp(in.op);
}

bool zeroAlmostEverywhere(const Instr &in) {
  if (in.op == Op::Tensor)
    return tensorZeroAlmostEverywhere(in);
  Op op = in.op;
  return op == Op::Floor || op == Op::Ceil || op == Op::Round || op == Op::Sign;
}

/// Operands that only steer (conditions, indices, counts): usefulness does
/// not flow into them.
bool isControlOperand(const Instr &in, size_t i) {
  if (in.op == Op::Tensor)
    return tensorControlOperand(in, i);
  switch (in.op) {
  case Op::Select:
    return i == 0;
  case Op::ArrayGet:
  case Op::ArraySet:
  case Op::ArrayAccum:
    return i == 1 || i == 3;
  case Op::ArrayRepeat:
  case Op::ArrayMaterialize:
  case Op::ArrayTruncate:
    return i == 1;
  default:
    return false;
  }
}

std::vector<bool> reachableBlocks(const Function &f) {
  std::vector<bool> seen(f.blocks.size(), false);
  std::vector<size_t> work{0};
  seen[0] = true;
  while (!work.empty()) {
    size_t b = work.back();
    work.pop_back();
    for (const Instr &in : f.blocks[b].instrs)
      for (const ir::Target &t : in.targets)
        if (!seen[t.block.index]) {
          seen[t.block.index] = true;
          work.push_back(t.block.index);
        }
  }
  return seen;
}

const char *cmpSpelling(Op op) {
  switch (op) {
  case Op::CmpEq:
    return "==";
  case Op::CmpNe:
    return "!=";
  case Op::CmpLt:
    return "<";
  case Op::CmpLe:
    return "<=";
  case Op::CmpGt:
    return ">";
  case Op::CmpGe:
    return ">=";
  default:
    return nullptr;
  }
}

/// Marks, to a fixed point, the values the result depends on: the returned
/// value, the operands (not control operands, nor those `steers` names) of
/// instructions that `flows` accepts and whose result is marked, and the
/// branch arguments of marked block arguments. Only values `markable`
/// accepts are marked.
void backwardClosure(const Function &f, const std::vector<bool> &reachable,
                     std::vector<bool> &marked,
                     const std::function<bool(const Instr &)> &flows,
                     const std::function<bool(ValueId)> &markable,
                     const std::function<bool(const Instr &, size_t)> &steers = nullptr) {
  for (bool changed = true; changed;) {
    changed = false;
    auto mark = [&](ValueId v) {
      if (!marked[v.index] && markable(v)) {
        marked[v.index] = true;
        changed = true;
      }
    };
    for (size_t b = f.blocks.size(); b-- > 0;) {
      if (!reachable[b])
        continue;
      const auto &instrs = f.blocks[b].instrs;
      for (size_t k = instrs.size(); k-- > 0;) {
        const Instr &in = instrs[k];
        if (in.op == Op::Ret && !in.operands.empty())
          mark(in.operands[0]);
        for (const ir::Target &t : in.targets)
          for (size_t a = 0; a < t.args.size(); ++a)
            if (marked[f.block(t.block).args[a].index])
              mark(t.args[a]);
        if (in.result.isValid() && marked[in.result.index] && flows(in))
          for (size_t o = 0; o < in.operands.size(); ++o)
            if (!isControlOperand(in, o) && !(steers && steers(in, o)))
              mark(in.operands[o]);
      }
    }
  }
}

} // namespace

std::vector<size_t> reversePostorder(const Function &f) {
  std::vector<size_t> post;
  std::vector<uint8_t> state(f.blocks.size(), 0); // 0 new, 1 on the stack, 2 done
  std::vector<std::pair<size_t, size_t>> stack{{0, 0}};
  state[0] = 1;
  while (!stack.empty()) {
    auto &[b, next] = stack.back();
    const Instr &term = f.blocks[b].instrs.back();
    if (next < term.targets.size()) {
      size_t s = term.targets[next++].block.index;
      if (state[s] == 0) {
        state[s] = 1;
        stack.push_back({s, 0});
      }
      continue;
    }
    state[b] = 2;
    post.push_back(b);
    stack.pop_back();
  }
  return {post.rbegin(), post.rend()};
}

std::string displayName(const std::string &irName) {
  size_t pos = irName.find(".lambda");
  if (pos != std::string::npos)
    return "the lambda in '" + irName.substr(0, pos) + "'";
  return "'" + irName + "'";
}

Activity Differentiator::analyze(const Function &f, const Mask &mask) {
  Activity act;
  act.varied.assign(f.values.size(), false);
  act.useful.assign(f.values.size(), false);
  act.reachable = reachableBlocks(f);
  auto hasTangent = [&](ValueId v) { return types().tangentType(f.typeOf(v)) != nullptr; };
  // A @noDerivative field (`epsilon` of LayerNorm) read from an active
  // struct is not active: the struct's tangent has no such field.
  auto flows = [&](const Instr &in) {
    if (in.op == Op::StructGet)
      if (auto *st = sema::asStruct(f.typeOf(in.operands[0]));
          st && types().tangentFieldIndex(st, unsigned(in.imm)) < 0)
        return false;
    return propagates(in);
  };
  const auto &params = f.blocks[0].args;
  for (size_t i = 0; i < params.size(); ++i)
    if (i < mask.size() && mask[i] && hasTangent(params[i]))
      act.varied[params[i].index] = true;

  // Forward: varied.
  for (bool changed = true; changed;) {
    changed = false;
    auto mark = [&](ValueId v) {
      if (v.isValid() && !act.varied[v.index] && hasTangent(v)) {
        act.varied[v.index] = true;
        changed = true;
      }
    };
    for (size_t b = 0; b < f.blocks.size(); ++b) {
      if (!act.reachable[b])
        continue;
      for (const Instr &in : f.blocks[b].instrs) {
        if (flows(in) && in.result.isValid())
          for (ValueId o : in.operands)
            if (act.varied[o.index]) {
              mark(in.result);
              break;
            }
        for (const ir::Target &t : in.targets)
          for (size_t k = 0; k < t.args.size(); ++k)
            if (act.varied[t.args[k].index])
              mark(f.block(t.block).args[k]);
      }
    }
  }
  // Backward: useful.
  backwardClosure(f, act.reachable, act.useful, [&](const Instr &in) { return flows(in); },
                  [&](ValueId v) { return hasTangent(v); });
  return act;
}

void Differentiator::reportNotDifferentiable(SourceLoc loc, const std::string &what) {
  failed = true;
  auto diag = diags.report(DiagId::err_not_differentiable, loc);
  for (const ReportFrame &frame : frames)
    diag.note(DiagId::note_when_differentiating, frame.loc, {frame.function});
  diag.note(DiagId::note_cannot_differentiate_through, loc, {what});
}

std::vector<bool> Differentiator::dataNeeded(const Function &f, const Activity &act) {
  // Values the result depends on through any data (not conditions, indices
  // or stopGradient): an active value must not flow into them through an
  // operation without a derivative.
  //
  // A value without a tangent that a tape records (`stack.push`) only steers
  // the pullback: the condition of a `where`, an index. A higher-order
  // derivative differentiates the augmented primal that pushes it, and the
  // comparison making it must not count as data there.
  std::vector<bool> needed(f.values.size(), false);
  backwardClosure(
      f, act.reachable, needed, [](const Instr &in) { return in.op != Op::StopGradient; },
      [](ValueId) { return true; },
      [&](const Instr &in, size_t o) {
        return in.op == Op::StackPush && o > 0 && !types().tangentType(f.typeOf(in.operands[o]));
      });
  return needed;
}

bool Differentiator::checkDifferentiable(const Function &f, const Activity &act) {
  std::vector<bool> needed = dataNeeded(f, act);
  bool ok = true;
  for (size_t b = 0; b < f.blocks.size(); ++b) {
    if (!act.reachable[b])
      continue;
    for (const Instr &in : f.blocks[b].instrs) {
      bool variedOperand = false;
      for (ValueId o : in.operands)
        variedOperand |= act.varied[o.index];
      if (!variedOperand || !in.result.isValid())
        continue;
      if (zeroAlmostEverywhere(in)) {
        // Never for standard-library code: relu's and abs's derivative rules
        // use step and sign, whose derivative a second order takes.
        bool stdlib = in.loc.isValid() &&
                      diags.sourceManager().name(in.loc.file).rfind("<stdlib>/", 0) == 0;
        if (!stdlib && act.useful[in.result.index] &&
            warnedZero.insert({in.loc.file, in.loc.line, in.loc.col}).second)
          diags.report(DiagId::warn_zero_derivative, in.loc,
                       {in.op == Op::Tensor ? tensorOpSpelling(in) : ir::mnemonic(in.op)});
        continue;
      }
      // A count depends on no element's value: its derivative is exactly zero.
      if (in.op == Op::StopGradient || in.op == Op::ArrayCount || !needed[in.result.index])
        continue;
      if (in.op == Op::Tensor) {
        ir::TensorOp top = ir::tensorOpOf(in.imm);
        if (top == ir::TensorOp::Shape || top == ir::TensorOp::Rank || top == ir::TensorOp::Count ||
            top == ir::TensorOp::Dim || top == ir::TensorOp::FillLike ||
            top == ir::TensorOp::DropoutMask || top == ir::TensorOp::LoadModel ||
            top == ir::TensorOp::SaveModel || top == ir::TensorOp::SaveNpy)
          continue; // depends on no element's value (load_model reads only the shapes)
        if (top == ir::TensorOp::Convert && types().tangentType(f.typeOf(in.result)))
          continue; // Float <-> Double
      }
      bool tensorConvert =
          in.op == Op::Tensor && ir::tensorOpOf(in.imm) == ir::TensorOp::Convert;
      if (propagates(in) && in.op != Op::Call && in.op != Op::Convert && !tensorConvert)
        continue;
      std::string what;
      if (in.op == Op::Convert) {
        if (types().tangentType(f.typeOf(in.result)))
          continue; // Float <-> Double
        what = f.typeOf(in.result)->str() + "(...)";
      } else if (in.op == Op::Tensor) {
        what = ir::tensorOpOf(in.imm) == ir::TensorOp::Convert ? f.typeOf(in.result)->str() + "(...)"
                                                                : tensorOpSpelling(in);
      } else if (const char *cmp = cmpSpelling(in.op)) {
        what = cmp;
      } else if (in.op == Op::Call) {
        const Function &callee = module.function(in.callee);
        if (!callee.isExtern || callee.customVJP.isValid() || callee.customJVP.isValid())
          continue;
        what = callee.name;
      } else if (in.op == Op::CallClosure) {
        what = "a call of a function value";
      } else if (in.op == Op::MakeClosure) {
        what = "a closure that captures it";
      } else {
        what = ir::mnemonic(in.op);
      }
      reportNotDifferentiable(in.loc, what);
      ok = false;
    }
  }
  return ok;
}

const std::set<uint32_t> &Differentiator::calleesOf(FuncId fn) {
  auto it = callees.find(fn.index);
  if (it != callees.end())
    return it->second;
  std::set<uint32_t> out;
  for (const ir::Block &b : module.function(fn).blocks)
    for (const Instr &in : b.instrs)
      if (in.op == Op::Call)
        out.insert(in.callee.index);
  return callees[fn.index] = std::move(out);
}

bool Differentiator::inSameCycle(FuncId caller, FuncId callee) {
  // Does callee reach caller?
  std::set<uint32_t> seen;
  std::vector<uint32_t> work{callee.index};
  while (!work.empty()) {
    uint32_t f = work.back();
    work.pop_back();
    if (f == caller.index)
      return true;
    if (!seen.insert(f).second)
      continue;
    for (uint32_t g : calleesOf(FuncId{f}))
      work.push_back(g);
  }
  return false;
}

} // namespace dlc::ad
