// The differentiation pass: finds every `derivative` instruction, generates
// the user-facing derivative function it asks for (LANGUAGE.md §5.1), and
// replaces the instruction with a closure over it. Requests inside generated
// code (grad of a function that calls grad) are resolved the same way, so any
// mix of orders and modes composes.
#include "ad/ADImpl.h"

#include <functional>

namespace dlc::ad {

std::string paramName(const Function &f, size_t i) {
  if (f.blocks.empty() || i >= f.blocks[0].args.size())
    return {};
  return f.values[f.blocks[0].args[i].index].name;
}

bool differentiate(Module &module, DiagEngine &diags) {
  Differentiator d(module, diags);
  return d.run();
}

bool Differentiator::run() {
  checkContracts();
  for (size_t i = 0; i < module.functions.size(); ++i) {
    resolveDerivatives(FuncId{uint32_t(i)});
    emitPendingVjpFull();
  }
  return !failed;
}

void Differentiator::warnZeroGradients(const Function &f, const Mask &mask, SourceLoc loc) {
  if (f.isExtern || f.blocks.empty())
    return;
  Activity act = analyze(f, mask);
  std::vector<bool> needed = dataNeeded(f, act);
  for (size_t p = 0; p < mask.size(); ++p) {
    ValueId param = f.blocks[0].args[p];
    // A parameter that reaches the result through an operation without a
    // derivative gets an error instead (checkDifferentiable).
    if (mask[p] && !act.active(param) && !needed[param.index])
      diags.report(DiagId::warn_zero_gradient, loc, {paramName(f, p), displayName(f.name)});
  }
}

void Differentiator::checkContracts() {
  size_t n = module.functions.size();
  for (size_t i = 0; i < n; ++i) {
    const Function &f = module.functions[i];
    if (!f.hasContract || f.isExtern)
      continue;
    Mask mask = f.contractWrt;
    mask.resize(f.type->params.size(), false);
    std::string name = f.name;
    SourceLoc loc = f.contractLoc;
    frames.push_back({displayName(name), loc});
    warnZeroGradients(module.functions[i], mask, loc);
    // Generating the derivative checks the body and every callee.
    if (!module.functions[i].customVJP.isValid())
      reverse(FuncId{uint32_t(i)}, mask);
    frames.pop_back();
    emitPendingVjpFull();
  }
}

void Differentiator::canonicalize(Function &f) {
  std::vector<const Instr *> def(f.values.size(), nullptr);
  for (const ir::Block &b : f.blocks)
    for (const Instr &in : b.instrs)
      if (in.result.isValid())
        def[in.result.index] = &in;
  std::vector<std::pair<size_t, ir::Target>> splits; // (block, second target) to split
  for (size_t bi = 0; bi < f.blocks.size(); ++bi)
    for (Instr &in : f.blocks[bi].instrs) {
      if (in.op == Op::CallClosure && !in.operands.empty()) {
        const Instr *mk = def[in.operands[0].index];
        if (mk && mk->op == Op::MakeClosure) {
          std::vector<ValueId> args = mk->operands;
          args.insert(args.end(), in.operands.begin() + 1, in.operands.end());
          in.op = Op::Call;
          in.callee = mk->callee;
          in.operands = std::move(args);
        }
      }
      if (in.op == Op::CondBr && in.targets.size() == 2 &&
          in.targets[0].block == in.targets[1].block)
        splits.push_back({bi, in.targets[1]});
    }
  // Both targets of a conditional branch in one block: route the second
  // through a block of its own, so each edge has its own adjoint.
  for (auto &[bi, target] : splits) {
    BlockId edge = f.addBlock("edge");
    Instr br;
    br.op = Op::Br;
    br.targets.push_back(target);
    f.block(edge).instrs.push_back(std::move(br));
    f.blocks[bi].instrs.back().targets[1] = ir::Target{edge, {}};
  }
}

void Differentiator::resolveDerivatives(FuncId fnId) {
  if (resolved.count(fnId.index) || resolving.count(fnId.index))
    return;
  resolving.insert(fnId.index);
  canonicalize(module.function(fnId));
  for (bool progress = true; progress;) {
    progress = false;
    bool pending = false;
    size_t nblocks = module.function(fnId).blocks.size();
    for (size_t bi = 0; bi < nblocks; ++bi) {
      for (size_t k = 0; k < module.function(fnId).blocks[bi].instrs.size(); ++k) {
        Function &f = module.function(fnId);
        Instr &in = f.blocks[bi].instrs[k];
        if (in.op != Op::Derivative)
          continue;
        const Instr *def = nullptr;
        for (const ir::Block &b : f.blocks)
          for (const Instr &x : b.instrs)
            if (x.result == in.operands[0])
              def = &x;
        if (def && def->op == Op::Derivative) {
          pending = true;
          continue;
        }
        if (!def || def->op != Op::MakeClosure) {
          failed = true;
          diags.report(DiagId::err_ad_unknown_function, in.loc)
              .note(DiagId::note_ad_static_forms, in.loc);
          in.op = Op::Undef;
          in.operands.clear();
          continue;
        }
        FuncId target = def->callee;
        std::vector<ValueId> captures = def->operands;
        auto kind = DerivKind(in.imm);
        SourceLoc loc = in.loc;
        auto *type = sema::asFunction(f.typeOf(in.result));
        FuncId derivative = userDerivative(target, kind, unsigned(captures.size()), loc, type);
        Instr &again = module.function(fnId).blocks[bi].instrs[k];
        again.op = Op::MakeClosure;
        again.callee = derivative;
        again.operands = captures;
        again.imm = 0;
        progress = true;
      }
    }
    if (!progress && pending)
      DLC_UNREACHABLE("a derivative of a derivative made no progress");
  }
  canonicalize(module.function(fnId));
  resolving.erase(fnId.index);
  resolved.insert(fnId.index);
}

FuncId Differentiator::userDerivative(FuncId fnId, DerivKind kind, unsigned constants,
                                      SourceLoc loc, const sema::FunctionType *userType) {
  auto key = std::make_tuple(fnId.index, int(kind), constants);
  if (auto it = userDerivatives.find(key); it != userDerivatives.end())
    return it->second;
  if (resolving.count(fnId.index)) {
    // f's own body asks for f's derivative.
    failed = true;
    diags.report(DiagId::err_ad_recursive_derivative, loc,
                 {displayName(module.function(fnId).name)});
    Function stub;
    stub.name = module.function(fnId).name + ".derivative";
    stub.loc = loc;
    std::vector<const Type *> params = module.function(fnId).type->params;
    params.resize(constants);
    params.insert(params.end(), userType->params.begin(), userType->params.end());
    stub.type = types().functionType(params, userType->result);
    BlockId entry = stub.addBlock("entry");
    for (const Type *p : params)
      stub.block(entry).args.push_back(stub.addValue(p));
    stub.block(entry).instrs.push_back(unreachableInstr());
    return userDerivatives[key] = module.addFunction(std::move(stub));
  }
  resolveDerivatives(fnId);
  const std::string name = module.function(fnId).name;
  const sema::FunctionType *fnType = module.function(fnId).type;
  Mask mask;
  std::vector<size_t> wrt;
  for (size_t i = 0; i < fnType->params.size(); ++i) {
    bool diff = i >= constants && types().isDifferentiable(fnType->params[i]) &&
                !isNoDerivative(module.function(fnId), i);
    mask.push_back(diff);
    if (diff)
      wrt.push_back(i);
  }
  frames.push_back({displayName(name), loc});

  // Parameters that cannot affect the result (§5.5).
  warnZeroGradients(module.function(fnId), mask, loc);

  FuncId result;
  if (kind == DerivKind::JVP) {
    result = jvp(fnId, mask);
    if (ir::containsTensor(fnType->result)) {
      // The user's jvp: the tangent of a tensor result materialized.
      const Function &inner = module.function(result);
      Function w;
      w.name = name + ".jvp.user";
      w.loc = module.function(fnId).loc;
      w.type = inner.type;
      Builder b(module, w);
      BlockId entry = b.block("entry");
      b.at(entry);
      std::vector<ValueId> args;
      for (const Type *p : inner.type->params)
        args.push_back(b.arg(entry, p));
      ValueId pair = b.call(result, args);
      ValueId value = b.get(pair, 0);
      b.ret(b.tuple({value, b.materializeLike(b.get(pair, 1), value)}));
      result = module.addFunction(std::move(w));
    }
  } else {
    ReverseFns fns = reverse(fnId, mask);
    const Type *resultTy = fnType->result;
    const Type *tapeTy = sema::asTuple(module.function(fns.fwd).type->result)->elements[1];
    const Type *gradsTy = kind == DerivKind::Grad           ? userType->result
                          : kind == DerivKind::ValueAndGrad ? sema::asTuple(userType->result)->elements[1]
                                                            : nullptr;
    if (kind == DerivKind::VJP)
      gradsTy = sema::asFunction(sema::asTuple(userType->result)->elements[1])->result;
    // The gradients the user sees, zero tensors materialized against the
    // arguments (Note [Zero tangent tensors]).
    auto selectGrads = [&](Builder &b, ValueId cts, const std::vector<ValueId> &primals) {
      auto part = [&](size_t i) { return b.materializeLike(b.get(cts, i), primals[i]); };
      if (wrt.size() == 1)
        return part(wrt[0]);
      std::vector<ValueId> parts;
      for (size_t i : wrt)
        parts.push_back(part(i));
      return b.tuple(parts);
    };
    const char *suffix = kind == DerivKind::Grad ? ".grad"
                         : kind == DerivKind::ValueAndGrad ? ".valueAndGrad"
                                                           : ".vjp.user";
    Function w;
    w.name = name + suffix;
    w.loc = module.function(fnId).loc;
    Builder b(module, w);
    BlockId entry = b.block("entry");
    b.at(entry);
    std::vector<ValueId> args;
    for (size_t i = 0; i < fnType->params.size(); ++i)
      args.push_back(b.arg(entry, fnType->params[i], paramName(module.function(fnId), i)));
    ValueId pair = b.call(fns.fwd, args);
    ValueId value = b.get(pair, 0), tape = b.get(pair, 1);
    if (kind == DerivKind::VJP) {
      // The pullback: an escaping closure over the arguments and the tape.
      Function pb;
      pb.name = name + ".pullback";
      pb.loc = w.loc;
      const Type *seedTy = tangentOrUnit(resultTy);
      std::vector<const Type *> pbParams = fnType->params;
      pbParams.push_back(tapeTy);
      pbParams.push_back(seedTy);
      pb.type = types().functionType(pbParams, gradsTy);
      Builder pbb(module, pb);
      BlockId pe = pbb.block("entry");
      pbb.at(pe);
      std::vector<ValueId> pargs;
      for (const Type *p : pbParams)
        pargs.push_back(pbb.arg(pe, p));
      pbb.ret(selectGrads(pbb, pbb.call(fns.bwd, pargs), pargs));
      FuncId pbId = module.addFunction(std::move(pb));
      std::vector<ValueId> captured = args;
      captured.push_back(tape);
      ValueId closure =
          b.closure(pbId, types().functionType({seedTy}, gradsTy), std::move(captured));
      w.type = types().functionType(fnType->params, types().tupleType({resultTy, b.typeOf(closure)}));
      b.ret(b.tuple({value, closure}));
    } else {
      std::vector<ValueId> bargs = args;
      bargs.push_back(tape);
      bargs.push_back(b.constFloat(resultTy, 1.0));
      // The tape goes with its last reference, right after the pullback
      // (Note [Array ownership]).
      ValueId grads = selectGrads(b, b.call(fns.bwd, bargs), args);
      if (kind == DerivKind::Grad) {
        w.type = types().functionType(fnType->params, gradsTy);
        b.ret(grads);
      } else {
        w.type = types().functionType(fnType->params, types().tupleType({resultTy, gradsTy}));
        b.ret(b.tuple({value, grads}));
      }
    }
    result = module.addFunction(std::move(w));
  }
  frames.pop_back();
  return userDerivatives[key] = result;
}

} // namespace dlc::ad
