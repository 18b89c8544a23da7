// Call checking: what a call names (function, method, init, closure value,
// callable struct, builtin, conversion), overload resolution over types and
// labels with literal-aware costs, inout arguments and mutating receivers.
#include "sema/SemaImpl.h"

#include "frontend/Assert.h"

#include <algorithm>
#include <functional>
#include <set>

namespace dlc::sema {

namespace {
std::string plural(size_t n) { return n == 1 ? "" : "s"; }
} // namespace

Candidate Sema::candidateFor(FuncDecl *f) {
  Candidate c;
  c.fn = f;
  c.name = f->name;
  if (f->parent)
    c.name = f->parent->name + "." + (f->funcKind == FuncDecl::Kind::Init ? "init" : f->name);
  for (ParamDecl *p : f->params) {
    c.params.push_back(p->type ? p->type : types.errorType());
    c.labels.push_back(p->label.empty() ? p->name : p->label);
    c.inout.push_back(p->isInout);
  }
  c.result = f->resultType ? f->resultType : types.errorType();
  return c;
}

std::vector<FuncDecl *> Sema::methodsNamed(StructDecl *s, const std::string &name,
                                           bool wantStatic) {
  std::vector<FuncDecl *> found;
  for (FuncDecl *m : s->methods)
    if (m->name == name && m->isStatic == wantStatic && m->type)
      found.push_back(m);
  return found;
}

std::vector<ArgInfo> Sema::preCheckArgs(CallExpr *call, const Candidate *only) {
  std::vector<ArgInfo> infos;
  for (size_t argIndex = 0; argIndex < call->args.size(); ++argIndex) {
    Argument &arg = call->args[argIndex];
    // With a single candidate, its parameter types type the arguments'
    // literals ([1.0, 2.0] passed to a [Double] parameter).
    const Type *hint =
        only && argIndex < only->params.size() ? only->params[argIndex] : nullptr;
    ArgInfo info;
    Expr *e = arg.value;
    if (auto *io = dynCast<InOutExpr>(e)) {
      info.isInout = true;
      info.type = checkLValue(io->operand, LValueUse::Inout, "");
      io->type = info.type;
    } else if (isLiteralLike(e)) {
      // Decide Int- or Float-literal by the literals inside.
      std::vector<const Expr *> stack{e};
      bool hasFloat = false;
      while (!stack.empty()) {
        const Expr *x = stack.back();
        stack.pop_back();
        if (isa<FloatLitExpr>(x))
          hasFloat = true;
        else if (auto *p = dynCast<ParenExpr>(x))
          stack.push_back(p->inner);
        else if (auto *u = dynCast<UnaryExpr>(x))
          stack.push_back(u->operand);
        else if (auto *b = dynCast<BinaryExpr>(x)) {
          stack.push_back(b->lhs);
          stack.push_back(b->rhs);
        }
      }
      info.kind = hasFloat ? ArgInfo::Kind::FloatLiteral : ArgInfo::Kind::IntLiteral;
    } else if (auto *arr = dynCast<ArrayLitExpr>(e); arr && arr->elements.empty()) {
      info.kind = ArgInfo::Kind::EmptyArray; // typed by the parameter it meets
    } else if (auto *lambda = dynCast<LambdaExpr>(e);
               lambda && std::any_of(lambda->params.begin(), lambda->params.end(),
                                     [](ParamDecl *p) { return !p->typeRepr; })) {
      info.kind = ArgInfo::Kind::UntypedLambda;
      info.lambdaArity = unsigned(lambda->params.size());
    } else {
      info.type = checkExpr(e, hint);
    }
    infos.push_back(info);
  }
  return infos;
}

int Sema::argCost(const ArgInfo &arg, const Type *param) const {
  if (param->isError())
    return 0;
  switch (arg.kind) {
  case ArgInfo::Kind::Typed:
    return arg.type->isError() || arg.type == param ? 0 : -1;
  case ArgInfo::Kind::IntLiteral:
    return param->kind == TypeKind::Int      ? 0
           : param->kind == TypeKind::Float  ? 1
           : param->kind == TypeKind::Double ? 2
                                             : -1;
  case ArgInfo::Kind::FloatLiteral:
    return param->kind == TypeKind::Float ? 0 : param->kind == TypeKind::Double ? 1 : -1;
  case ArgInfo::Kind::UntypedLambda: {
    auto *ft = asFunction(param);
    return ft && ft->params.size() == arg.lambdaArity ? 0 : -1;
  }
  case ArgInfo::Kind::EmptyArray:
    return param->kind == TypeKind::Array ? 0 : -1;
  }
  return -1;
}

void Sema::finishArgs(CallExpr *call, const Candidate &chosen, const std::vector<ArgInfo> &infos) {
  std::set<std::string> inoutRoots;
  for (size_t i = 0; i < call->args.size(); ++i) {
    Expr *e = call->args[i].value;
    const ArgInfo &info = infos[i];
    const Type *param = i < chosen.params.size() ? chosen.params[i] : types.errorType();
    bool paramInout = i < chosen.inout.size() && chosen.inout[i];
    if (info.kind != ArgInfo::Kind::Typed)
      checkExprAs(e, param);
    else if (argCost(info, param) < 0 && i < chosen.params.size()) {
      std::string pname = chosen.fn && i < chosen.fn->params.size() ? chosen.fn->params[i]->name
                                                                    : chosen.labels[i];
      if (pname.empty() || pname == "_")
        pname = "#" + std::to_string(i + 1);
      diags.report(DiagId::err_arg_type, e->loc, {info.type->str(), pname, param->str()});
    }
    if (paramInout && !info.isInout && !info.type->isError() && i < chosen.params.size())
      diags.report(DiagId::err_inout_needs_ampersand, e->loc, {param->str()});
    if (!paramInout && info.isInout)
      diags.report(DiagId::err_ampersand_not_inout, e->loc);
    if (info.isInout) {
      std::string root = lvalueRootName(cast<InOutExpr>(e)->operand);
      if (!root.empty() && !inoutRoots.insert(root).second)
        diags.report(DiagId::err_overlapping_inout, e->loc, {root});
    }
  }
}

const Type *Sema::checkOverloaded(CallExpr *call, const std::string &name,
                                  std::vector<Candidate> candidates, bool isInit,
                                  const std::vector<FuncDecl *> &generics,
                                  const std::vector<const Type *> &explicitArgs,
                                  const std::vector<ArgInfo> *preInfos) {
  std::vector<ArgInfo> infos =
      preInfos ? *preInfos
               : preCheckArgs(call, candidates.size() == 1 && generics.empty() ? &candidates.front()
                                                                                : nullptr);
  size_t n = call->args.size();
  auto labelsMatch = [&](const Candidate &c, size_t i) {
    const std::string &written = call->args[i].label;
    if (written.empty())
      return true;
    const std::string &want = c.labels[i];
    return want != "_" && written == want;
  };
  auto finishUntyped = [&]() {
    // Give literal and lambda arguments a type for later phases.
    for (size_t i = 0; i < n; ++i)
      if (infos[i].kind != ArgInfo::Kind::Typed)
        checkExpr(call->args[i].value, nullptr);
  };
  auto describeArgs = [&]() {
    std::string argTypes;
    for (size_t i = 0; i < n; ++i) {
      if (i)
        argTypes += ", ";
      if (!call->args[i].label.empty())
        argTypes += call->args[i].label + ": ";
      switch (infos[i].kind) {
      case ArgInfo::Kind::Typed:
        argTypes += infos[i].type->str();
        break;
      case ArgInfo::Kind::IntLiteral:
        argTypes += "Int";
        break;
      case ArgInfo::Kind::FloatLiteral:
        argTypes += "Float";
        break;
      case ArgInfo::Kind::UntypedLambda:
        argTypes += "closure";
        break;
      case ArgInfo::Kind::EmptyArray:
        argTypes += "[]";
        break;
      }
    }
    return argTypes;
  };
  // Instances made for this call alone: those not chosen are dropped again,
  // so an overload that loses never has its body checked (as in C++).
  std::vector<FuncDecl *> fresh;
  auto dropUnchosen = [&](const FuncDecl *chosen) {
    for (FuncDecl *inst : fresh)
      if (inst != chosen)
        discardInstance(inst);
  };
  if (!generics.empty()) {
    unsigned errorsBefore = diags.errorCount();
    bool report = candidates.empty() && generics.size() == 1;
    addGenericCandidates(call, generics, explicitArgs, infos, report, candidates, fresh);
    if (candidates.empty()) {
      if (diags.errorCount() == errorsBefore) {
        auto diag = diags.report(DiagId::err_no_matching_overload, call->loc, {name, describeArgs()});
        for (FuncDecl *g : generics)
          diag.note(DiagId::note_generic_candidate, g->nameLoc,
                    {g->name, std::to_string(g->params.size()), g->params.size() == 1 ? "" : "s"});
      }
      finishUntyped();
      return types.errorType();
    }
  }
  if (candidates.size() == 1) {
    const Candidate &c = candidates.front();
    if (c.params.size() != n) {
      diags.report(DiagId::err_arg_count, call->loc,
                   {name, std::to_string(c.params.size()), plural(c.params.size()),
                    std::to_string(n), n == 1 ? "was" : "were"});
      finishUntyped();
      return c.result;
    }
    for (size_t i = 0; i < n; ++i)
      if (!labelsMatch(c, i)) {
        const std::string &want = c.labels[i];
        diags.report(DiagId::err_wrong_label, call->args[i].labelLoc,
                     {call->args[i].label, want == "_" ? "_" : want, name});
      }
    finishArgs(call, c, infos);
    call->target = c.fn;
    return c.result;
  }
  // Several candidates: keep those that accept the arguments; prefer the
  // cheapest (exact types over literal conversions), and on equal cost a
  // non-generic function over a generic one (Swift's and Rust's rule): the
  // key is twice the cost, plus one for an instance.
  std::vector<std::pair<int, size_t>> viable;
  for (size_t ci = 0; ci < candidates.size(); ++ci) {
    const Candidate &c = candidates[ci];
    if (c.params.size() != n)
      continue;
    int total = 0;
    for (size_t i = 0; i < n && total >= 0; ++i) {
      int cost = labelsMatch(c, i) ? argCost(infos[i], c.params[i]) : -1;
      total = cost < 0 ? -1 : total + cost;
    }
    if (total >= 0)
      viable.push_back({2 * total + (c.fn && c.fn->genericOrigin ? 1 : 0), ci});
  }
  if (viable.empty()) {
    std::string argTypes = describeArgs();
    auto diag = diags.report(DiagId::err_no_matching_overload, call->loc, {name, argTypes});
    for (const Candidate &c : candidates)
      diag.note(DiagId::note_candidate, c.fn ? c.fn->nameLoc : SourceLoc{}, {c.describe()});
    dropUnchosen(nullptr);
    finishUntyped();
    return types.errorType();
  }
  std::sort(viable.begin(), viable.end());
  if (viable.size() > 1 && viable[0].first == viable[1].first) {
    auto diag = diags.report(DiagId::err_ambiguous_call, call->loc, {name});
    for (auto &[cost, ci] : viable)
      if (cost == viable[0].first)
        diag.note(DiagId::note_candidate, candidates[ci].fn ? candidates[ci].fn->nameLoc : SourceLoc{},
                  {candidates[ci].describe()});
    dropUnchosen(nullptr);
    finishUntyped();
    return types.errorType();
  }
  const Candidate &best = candidates[viable[0].second];
  dropUnchosen(best.fn);
  finishArgs(call, best, infos);
  call->target = best.fn;
  (void)isInit;
  return best.result;
}

const Type *Sema::checkClosureCall(CallExpr *call, const FunctionType *fnType) {
  call->callKind = CallExpr::Kind::Closure;
  for (Argument &a : call->args)
    if (!a.label.empty()) {
      diags.report(DiagId::err_wrong_label, a.labelLoc, {a.label, "_", "function value"});
      break;
    }
  Candidate c;
  c.name = "function value";
  c.params = fnType->params;
  c.labels.assign(c.params.size(), "");
  c.inout.assign(c.params.size(), false);
  c.result = fnType->result;
  for (Argument &a : call->args)
    a.label.clear();
  return checkOverloaded(call, "function value", {c}, false);
}

const Type *Sema::checkInitCall(CallExpr *call, StructDecl *s,
                                const std::vector<ArgInfo> *preInfos) {
  if (!s->type) {
    for (Argument &a : call->args)
      checkExpr(a.value, nullptr);
    return types.errorType();
  }
  if (!s->inits.empty()) {
    std::vector<Candidate> cands;
    for (FuncDecl *init : s->inits)
      if (init->type)
        cands.push_back(candidateFor(init));
    call->callKind = CallExpr::Kind::Init;
    checkOverloaded(call, s->name, cands, true, {}, {}, preInfos);
    return s->type;
  }
  Candidate c;
  c.name = s->name;
  auto *st = asStruct(s->type);
  for (auto &f : st->fields) {
    c.params.push_back(f.type);
    c.labels.push_back(f.name);
    c.inout.push_back(false);
  }
  c.result = s->type;
  call->callKind = CallExpr::Kind::MemberwiseInit;
  checkOverloaded(call, s->name, {c}, true, {}, {}, preInfos);
  return s->type;
}

const Type *Sema::checkCall(CallExpr *call, const Type *expected) {
  Expr *callee = call->callee;
  auto initCall = [&](StructDecl *s) -> const Type * {
    if (s->isGenericDecl())
      return checkGenericInit(call, s, {}, expected);
    return checkInitCall(call, s, nullptr);
  };
  auto methodCall = [&](StructDecl *s, const std::string &name, Expr *receiver,
                        SourceLoc loc) -> const Type * {
    std::vector<FuncDecl *> methods = methodsNamed(s, name, false);
    std::vector<FuncDecl *> statics = methodsNamed(s, name, true);
    bool implicitSelf = receiver == nullptr;
    if (methods.empty() && implicitSelf)
      methods = statics;
    if (methods.empty())
      return nullptr;
    bool isStatic = methods.front()->isStatic;
    std::vector<Candidate> cands;
    for (FuncDecl *m : methods)
      cands.push_back(candidateFor(m));
    call->callKind = isStatic ? CallExpr::Kind::StaticMethod : CallExpr::Kind::Method;
    call->receiver = receiver;
    if (!isStatic) {
      bool mutating = std::any_of(methods.begin(), methods.end(),
                                  [](FuncDecl *m) { return m->isMutating; });
      if (receiver) {
        if (mutating)
          checkLValue(receiver, LValueUse::MutatingCall, name);
        else
          checkExpr(receiver, nullptr);
      } else {
        bool captured;
        Decl *self = lookupLocal("self", captured);
        if (!self)
          diags.report(DiagId::err_static_self, loc);
        else if (mutating && (!fn().isMutating || captured))
          diags.report(DiagId::err_mutating_in_nonmutating, loc, {name});
      }
    }
    return checkOverloaded(call, s->name + "." + name, cands, false);
  };

  if (auto *n = dynCast<NameExpr>(callee)) {
    bool captured;
    Decl *local = lookupLocal(n->name, captured);
    if (auto *p = dynCast<ParamDecl>(local); p && p->staticBinding) {
      // A parameter bound to a named function in this instance: a direct call.
      FuncDecl *target = p->staticBinding;
      n->ref = NameExpr::Ref::Function;
      n->decl = target;
      n->type = target->type;
      call->callKind = CallExpr::Kind::Function;
      return checkOverloaded(call, target->name, {candidateFor(target)}, false);
    }
    if (!local) {
      if (StructDecl *s = currentStruct()) {
        bool isField = std::any_of(s->fields.begin(), s->fields.end(),
                                   [&](VarDecl *f) { return f->name == n->name; });
        if (!isField)
          if (const Type *t = methodCall(s, n->name, nullptr, n->loc))
            return t;
      }
      std::vector<Decl *> found = lookupGlobal(n->name);
      std::vector<FuncDecl *> fns;
      std::vector<StructDecl *> structs;
      for (Decl *d : found) {
        if (auto *f = dynCast<FuncDecl>(d))
          fns.push_back(f);
        else if (auto *s = dynCast<StructDecl>(d))
          structs.push_back(s);
      }
      if (structs.size() > 1) {
        auto diag = diags.report(DiagId::err_ambiguous_name, n->loc, {n->name});
        for (StructDecl *s : structs)
          diag.note(DiagId::note_defined_here, s->nameLoc, {n->name});
        for (Argument &a : call->args)
          checkExpr(a.value, nullptr);
        return types.errorType();
      }
      std::vector<const Type *> explicitArgs;
      if (!n->genericArgs.empty() && (!structs.empty() || !fns.empty()))
        explicitArgs = resolveGenericArgs(n->genericArgs);
      if (std::any_of(explicitArgs.begin(), explicitArgs.end(),
                      [](const Type *t) { return t->isError(); })) {
        for (Argument &a : call->args)
          checkExpr(a.value, nullptr);
        return types.errorType();
      }
      if (structs.size() == 1 && fns.empty()) {
        StructDecl *s = structs.front();
        if (s->isGenericDecl())
          return checkGenericInit(call, s, explicitArgs, expected);
        if (!explicitArgs.empty()) {
          checkGenericArgCount(s->name, 0, explicitArgs.size(), n->loc);
          for (Argument &a : call->args)
            checkExpr(a.value, nullptr);
          return types.errorType();
        }
        return initCall(s);
      }
      if (!fns.empty()) {
        std::vector<Candidate> cands;
        std::vector<FuncDecl *> generics;
        bool broken = false;
        for (FuncDecl *f : fns) {
          if (f->isGeneric() && !f->parent)
            generics.push_back(f);
          else if (f->type && explicitArgs.empty())
            cands.push_back(candidateFor(f));
          else
            broken = broken || !f->type;
        }
        call->callKind = CallExpr::Kind::Function;
        if (cands.empty() && generics.empty()) {
          if (!explicitArgs.empty() && !broken)
            checkGenericArgCount(n->name, 0, explicitArgs.size(), n->loc);
          for (Argument &a : call->args)
            checkExpr(a.value, nullptr);
          return types.errorType();
        }
        return checkOverloaded(call, n->name, cands, false, generics, explicitArgs);
      }
      if (!n->genericArgs.empty() && n->name != "Tensor") {
        checkGenericArgCount(n->name, 0, n->genericArgs.size(), n->loc);
        for (Argument &a : call->args)
          checkExpr(a.value, nullptr);
        return types.errorType();
      }
      if (n->name == "Tensor")
        return checkTensorCall(call, Builtin::TensorInit, expected, n);
      // `T(x)` in a generic body converts to what T stands for (Swift's
      // `T(n)` on a numeric T).
      if (auto it = activeSubst.find(n->name); it != activeSubst.end()) {
        switch (it->second->kind) {
        case TypeKind::Int:
          return checkConversion(call, Builtin::ToInt);
        case TypeKind::Float:
          return checkConversion(call, Builtin::ToFloat);
        case TypeKind::Double:
          return checkConversion(call, Builtin::ToDouble);
        default:
          break;
        }
      }
      if (n->name == "Int")
        return checkConversion(call, Builtin::ToInt);
      if (n->name == "Float")
        return checkConversion(call, Builtin::ToFloat);
      if (n->name == "Double")
        return checkConversion(call, Builtin::ToDouble);
      if (n->name == "Array")
        return checkBuiltinCall(call, Builtin::ArrayRepeating, expected);
      if (n->name == "Bool" || n->name == "String") {
        diags.report(DiagId::err_not_supported, n->loc, {"conversion to '" + n->name + "'"});
        for (Argument &a : call->args)
          checkExpr(a.value, nullptr);
        return types.errorType();
      }
      int b = lookupFreeBuiltin(n->name);
      if (b >= 0)
        return checkBuiltinCall(call, Builtin(b), expected);
    }
  }

  if (auto *m = dynCast<MemberExpr>(callee)) {
    // module.name(...): `nn.Dense(...)`, `data.fashionMNIST(...)`.
    if (auto *n = dynCast<NameExpr>(m->base); n && isModuleName(n->name)) {
      bool captured;
      bool isValue = lookupLocal(n->name, captured) != nullptr;
      if (!isValue && currentStruct())
        for (VarDecl *f : currentStruct()->fields)
          isValue |= f->name == n->name;
      if (!isValue && !lookupTypeName(n->name, n->loc, false)) {
        if (!moduleHasMember(n->name, m->member)) {
          diags.report(DiagId::err_module_member, m->memberLoc, {n->name, m->member});
          for (Argument &a : call->args)
            checkExpr(a.value, nullptr);
          return types.errorType();
        }
        auto *plain = program.context.make<NameExpr>(m->memberLoc);
        plain->name = m->member;
        call->callee = plain;
        return checkCall(call, expected);
      }
    }
    // S.staticMethod(...)
    if (auto *n = dynCast<NameExpr>(m->base)) {
      bool captured;
      bool isValue = lookupLocal(n->name, captured) != nullptr;
      if (!isValue && currentStruct())
        for (VarDecl *f : currentStruct()->fields)
          isValue |= f->name == n->name;
      if (!isValue)
        if (auto *st = asStruct(lookupTypeName(n->name, n->loc, false))) {
          std::vector<FuncDecl *> statics = methodsNamed(st->decl, m->member, true);
          if (statics.empty()) {
            diags.report(DiagId::err_no_static_member, m->memberLoc, {n->name, m->member});
            for (Argument &a : call->args)
              checkExpr(a.value, nullptr);
            return types.errorType();
          }
          std::vector<Candidate> cands;
          for (FuncDecl *f : statics)
            cands.push_back(candidateFor(f));
          call->callKind = CallExpr::Kind::StaticMethod;
          n->ref = NameExpr::Ref::Type;
          n->type = st;
          return checkOverloaded(call, n->name + "." + m->member, cands, false);
        }
    }
    const Type *base = checkExpr(m->base, nullptr);
    if (base->isError()) {
      for (Argument &a : call->args)
        checkExpr(a.value, nullptr);
      return base;
    }
    if (base->kind == TypeKind::Tensor) {
      // `x.sequenced(through: a, b)`: a function of the program or the
      // standard library whose first parameter takes the tensor, called
      // with the tensor first (docs/DECISIONS.md).
      bool isFunction = false;
      for (Decl *d : lookupGlobal(m->member))
        isFunction |= isa<FuncDecl>(d);
      if (isFunction) {
        auto *plain = program.context.make<NameExpr>(m->memberLoc);
        plain->name = m->member;
        call->callee = plain;
        call->args.insert(call->args.begin(), Argument{"", SourceLoc{}, m->base});
        return checkCall(call, expected);
      }
      if (const Type *t = checkTensorMember(call, m, base))
        return t;
    }
    if (auto *st = asStruct(base); st && st->decl) {
      std::vector<FuncDecl *> methods = methodsNamed(st->decl, m->member, false);
      if (!methods.empty()) {
        bool mutating = std::any_of(methods.begin(), methods.end(),
                                    [](FuncDecl *f) { return f->isMutating; });
        if (mutating)
          checkLValue(m->base, LValueUse::MutatingCall, m->member);
        std::vector<Candidate> cands;
        for (FuncDecl *f : methods)
          cands.push_back(candidateFor(f));
        call->callKind = CallExpr::Kind::Method;
        call->receiver = m->base;
        return checkOverloaded(call, st->name + "." + m->member, cands, false);
      }
      if (m->member == "move" && st->differentiable) {
        call->receiver = m->base;
        checkLValue(m->base, LValueUse::MutatingCall, "move");
        return checkBuiltinCall(call, Builtin::Move, expected);
      }
      int fi = st->fieldIndex(m->member);
      if (fi >= 0)
        if (auto *ft = asFunction(st->fields[fi].type)) {
          m->memberKind = MemberExpr::Kind::Field;
          m->index = unsigned(fi);
          m->type = ft;
          return checkClosureCall(call, ft);
        }
      if (!methodsNamed(st->decl, m->member, true).empty()) {
        diags.report(DiagId::err_not_supported, m->memberLoc,
                     {"calling the static method '" + m->member + "' on a value"});
        return types.errorType();
      }
    }
    if (base->kind == TypeKind::Array && m->member == "append") {
      call->receiver = m->base;
      checkLValue(m->base, LValueUse::MutatingCall, "append");
      return checkBuiltinCall(call, Builtin::ArrayAppend, expected);
    }
    if (auto *tt = asTuple(base); tt && std::all_of(m->member.begin(), m->member.end(), ::isdigit)) {
      const Type *t = checkMember(m);
      if (auto *ft = asFunction(t))
        return checkClosureCall(call, ft);
    }
    diags.report(DiagId::err_no_member, m->memberLoc, {base->str(), m->member});
    for (Argument &a : call->args)
      checkExpr(a.value, nullptr);
    return types.errorType();
  }

  // A function value, or a struct value with a `call` method.
  const Type *t = checkExpr(callee, nullptr);
  if (t->isError()) {
    for (Argument &a : call->args)
      checkExpr(a.value, nullptr);
    return t;
  }
  if (auto *ft = asFunction(t))
    return checkClosureCall(call, ft);
  if (auto *st = asStruct(t); st && st->decl) {
    std::vector<FuncDecl *> calls = methodsNamed(st->decl, "call", false);
    if (!calls.empty()) {
      std::vector<Candidate> cands;
      for (FuncDecl *f : calls)
        cands.push_back(candidateFor(f));
      call->callKind = CallExpr::Kind::CallMethod;
      call->receiver = callee;
      if (calls.front()->isMutating)
        checkLValue(callee, LValueUse::MutatingCall, "call");
      return checkOverloaded(call, st->name + ".call", cands, false);
    }
  }
  diags.report(DiagId::err_not_callable, callee->loc, {t->str()});
  for (Argument &a : call->args)
    checkExpr(a.value, nullptr);
  return types.errorType();
}

const Type *Sema::checkConversion(CallExpr *call, Builtin b) {
  call->callKind = CallExpr::Kind::Builtin;
  call->builtin = int(b);
  const Type *target = b == Builtin::ToInt     ? types.intType()
                       : b == Builtin::ToFloat ? types.floatType()
                                               : types.doubleType();
  const char *name = builtinName(b);
  if (call->args.size() != 1) {
    diags.report(DiagId::err_arg_count, call->loc,
                 {name, "1", "", std::to_string(call->args.size()),
                  call->args.size() == 1 ? "was" : "were"});
    for (Argument &a : call->args)
      checkExpr(a.value, nullptr);
    return target;
  }
  Expr *arg = call->args.front().value;
  if (!call->args.front().label.empty())
    diags.report(DiagId::err_wrong_label, call->args.front().labelLoc,
                 {call->args.front().label, "_", name});
  const Type *t = isLiteralLike(arg) && target->isFloatingPoint() ? checkExpr(arg, target)
                                                                   : checkExpr(arg, nullptr);
  bool ok = t->isError() || t->isNumeric() || (b == Builtin::ToInt && t->kind == TypeKind::Bool);
  if (!ok)
    diags.report(DiagId::err_conversion, arg->loc, {t->str(), name});
  return target;
}

const Type *Sema::checkBuiltinCall(CallExpr *call, Builtin b, const Type *expected) {
  call->callKind = CallExpr::Kind::Builtin;
  call->builtin = int(b);
  const std::string name = builtinName(b);
  size_t n = call->args.size();
  auto checkAll = [&]() {
    for (Argument &a : call->args)
      if (!a.value->type)
        checkExpr(a.value, nullptr);
  };
  auto arity = [&](size_t lo, size_t hi) {
    if (n >= lo && n <= hi)
      return true;
    size_t want = n < lo ? lo : hi;
    diags.report(DiagId::err_arg_count, call->loc,
                 {name, std::to_string(want), plural(want), std::to_string(n), n == 1 ? "was" : "were"});
    checkAll();
    return false;
  };
  auto noLabels = [&]() {
    for (Argument &a : call->args)
      if (!a.label.empty()) {
        diags.report(DiagId::err_wrong_label, a.labelLoc, {a.label, "_", name});
        return;
      }
  };
  auto expectType = [&](Expr *e, const Type *t) { checkExprAs(e, t); };

  if (isTensorCall(call, b))
    return checkTensorCall(call, b, expected, nullptr);

  if (b == Builtin::Sqrt && n == 1 && !isLiteralLike(call->args[0].value)) {
    const Type *t = checkExpr(call->args[0].value, expected);
    if (auto *st = asStruct(t); st && st->tangentOf)
      return t; // fieldwise square root of a tangent (§5.2)
  }
  if (isMath1(b) || isMath2(b)) {
    noLabels();
    size_t want = isMath1(b) ? 1 : 2;
    if (!arity(want, want))
      return types.errorType();
    bool intOk = b == Builtin::Abs || b == Builtin::Sign || b == Builtin::Min || b == Builtin::Max;
    // The operand type: the first non-literal argument's, else the expected
    // type, else Float (math on literals is Float math).
    const Type *t = nullptr;
    for (Argument &a : call->args)
      if (!isLiteralLike(a.value)) {
        // (sqrt's argument is already checked when it might be a tangent.)
        t = a.value->type ? a.value->type
                          : checkExpr(a.value, expected && expected->isNumeric() ? expected : nullptr);
        break;
      }
    if (!t)
      t = expected && (expected->isFloatingPoint() || (intOk && expected->kind == TypeKind::Int))
              ? expected
              : types.floatType();
    for (Argument &a : call->args)
      if (!a.value->type || isLiteralLike(a.value))
        checkExprAs(a.value, t);
      else if (a.value->type != t && !a.value->type->isError() && !t->isError())
        diags.report(DiagId::err_arg_type, a.value->loc, {a.value->type->str(), "x", t->str()});
    if (t->isError())
      return t;
    if (!(t->isFloatingPoint() || (intOk && t->kind == TypeKind::Int))) {
      diags.report(DiagId::err_no_matching_overload, call->loc, {name, t->str()});
      return types.errorType();
    }
    return t;
  }
  switch (b) {
  case Builtin::Print:
    noLabels();
    for (Argument &a : call->args)
      checkExpr(a.value, nullptr);
    return types.unitType();
  case Builtin::Assert:
    noLabels();
    if (!arity(1, 2))
      return types.unitType();
    expectType(call->args[0].value, types.boolType());
    if (n == 2)
      expectType(call->args[1].value, types.stringType());
    return types.unitType();
  case Builtin::Exit:
    noLabels();
    if (arity(1, 1))
      expectType(call->args[0].value, types.intType());
    return types.unitType();
  case Builtin::Args:
    noLabels();
    arity(0, 0);
    return types.arrayType(types.stringType());
  case Builtin::Environment:
    noLabels();
    if (arity(1, 1))
      expectType(call->args[0].value, types.stringType());
    return types.stringType();
  case Builtin::Clock:
    noLabels();
    arity(0, 0);
    return types.doubleType();
  case Builtin::Grad:
  case Builtin::ValueAndGrad:
  case Builtin::Vjp:
  case Builtin::Jvp:
    noLabels();
    if (!arity(1, 1))
      return types.errorType();
    return checkADOperator(call, b);
  case Builtin::AsTangent: {
    noLabels();
    if (!arity(1, 1))
      return types.errorType();
    const Type *t = checkExpr(call->args[0].value, nullptr);
    if (t->isError())
      return t;
    // Arrays are projected whole, so their elements must be their own tangents.
    std::function<bool(const Type *)> projectable = [&](const Type *x) -> bool {
      if (auto *st = asStruct(x)) {
        for (unsigned i = 0; i < st->fields.size(); ++i)
          if (types.tangentFieldIndex(st, i) >= 0 && !projectable(st->fields[i].type))
            return false;
        return true;
      }
      if (auto *tt = asTuple(x))
        return std::all_of(tt->elements.begin(), tt->elements.end(), [&](const Type *e) {
          return !types.tangentType(e) || projectable(e);
        });
      return types.tangentType(x) == x;
    };
    if (!types.isDifferentiable(t) || !types.tangentType(t)) {
      diags.report(DiagId::err_arg_type, call->args[0].value->loc, {t->str(), "x", "Differentiable"});
      return types.errorType();
    }
    if (!projectable(t)) {
      diags.report(DiagId::err_not_supported, call->loc,
                   {"'asTangent' of a value holding an array of structs"});
      return types.errorType();
    }
    return types.tangentType(t);
  }
  case Builtin::ZerosLike:
  case Builtin::Dot: {
    noLabels();
    size_t want = b == Builtin::Dot ? 2 : 1;
    if (!arity(want, want))
      return types.errorType();
    const Type *t = checkExpr(call->args[0].value, nullptr);
    if (want == 2)
      checkExprAs(call->args[1].value, t);
    if (t->isError())
      return t;
    // zerosLike(model) is the zero tangent of any Differentiable value, with
    // its tensors' shapes (what an optimizer's state starts from).
    if (b == Builtin::ZerosLike && types.isDifferentiable(t) && types.tangentType(t))
      return types.tangentType(t);
    if (!types.tangentType(t) || types.tangentType(t) != t) {
      diags.report(DiagId::err_arg_type, call->args[0].value->loc, {t->str(), "x", "a tangent"});
      return types.errorType();
    }
    return b == Builtin::Dot ? types.tangentScalar(t) : t;
  }
  case Builtin::Move: {
    // s.move(by: t) on a Differentiable struct without its own `move`.
    if (!arity(1, 1))
      return types.errorType();
    if (call->args[0].label != "by")
      diags.report(DiagId::err_wrong_label, call->args[0].label.empty() ? call->args[0].value->loc
                                                                        : call->args[0].labelLoc,
                   {call->args[0].label.empty() ? "_" : call->args[0].label, "by", "move"});
    const Type *self = call->receiver ? call->receiver->type : nullptr;
    const Type *tangent = self ? types.tangentType(self) : nullptr;
    if (!tangent)
      return types.errorType();
    checkExprAs(call->args[0].value, tangent);
    return types.unitType();
  }
  case Builtin::StopGradient:
    noLabels();
    if (!arity(1, 1))
      return types.errorType();
    return checkExpr(call->args[0].value, expected);
  case Builtin::ArrayRepeating: {
    if (!arity(2, 2))
      return types.errorType();
    if (call->args[0].label != "repeating" || call->args[1].label != "count") {
      auto &bad = call->args[0].label != "repeating" ? call->args[0] : call->args[1];
      diags.report(DiagId::err_wrong_label, bad.labelLoc.isValid() ? bad.labelLoc : bad.value->loc,
                   {bad.label, &bad == &call->args[0] ? "repeating" : "count", "Array"});
    }
    auto *at = asArray(expected);
    const Type *elem = checkExpr(call->args[0].value, at ? at->element : nullptr);
    expectType(call->args[1].value, types.intType());
    return elem->isError() ? elem : types.arrayType(elem);
  }
  case Builtin::ArrayAppend: {
    noLabels();
    auto *at = asArray(call->receiver->type);
    if (!arity(1, 1) || !at)
      return types.unitType();
    expectType(call->args[0].value, at->element);
    return types.unitType();
  }
  default:
    checkAll();
    diags.report(DiagId::err_not_supported, call->loc, {"'" + name + "'"});
    return types.errorType();
  }
}

bool Sema::isStaticFunction(const Expr *e) const {
  if (auto *p = dynCast<ParenExpr>(e))
    return isStaticFunction(p->inner);
  if (isa<LambdaExpr>(e))
    return true;
  if (auto *n = dynCast<NameExpr>(e))
    return n->ref == NameExpr::Ref::Function ||
           (n->ref == NameExpr::Ref::Local && staticFunctionLets.count(n->decl));
  if (auto *c = dynCast<CallExpr>(e))
    return c->callKind == CallExpr::Kind::Builtin &&
           (c->builtin == int(Builtin::Grad) || c->builtin == int(Builtin::ValueAndGrad) ||
            c->builtin == int(Builtin::Vjp) || c->builtin == int(Builtin::Jvp));
  return false;
}

const Type *Sema::checkADOperator(CallExpr *call, Builtin b) {
  usesAD = true;
  const std::string op = builtinName(b);
  Expr *arg = call->args[0].value;
  const Type *t = checkExpr(arg, nullptr);
  if (t->isError())
    return t;
  auto *fnType = asFunction(t);
  if (!fnType) {
    diags.report(DiagId::err_ad_not_function, arg->loc, {op, t->str()});
    return types.errorType();
  }
  if (!isStaticFunction(arg)) {
    diags.report(DiagId::err_ad_unknown_function, arg->loc)
        .note(DiagId::note_ad_static_forms, arg->loc);
    return types.errorType();
  }
  // How messages name the function: 'f', or "the lambda".
  std::string what = "the function";
  const Expr *inner = arg;
  while (auto *p = dynCast<ParenExpr>(inner))
    inner = p->inner;
  if (auto *n = dynCast<NameExpr>(inner))
    what = "'" + n->name + "'";
  else if (isa<LambdaExpr>(inner))
    what = "the lambda";

  const FuncDecl *named = nullptr;
  if (auto *n = dynCast<NameExpr>(inner))
    named = dynCast<FuncDecl>(n->decl);
  std::vector<const Type *> tangents; // of the differentiable parameters, in order
  for (size_t i = 0; i < fnType->params.size(); ++i)
    if (types.isDifferentiable(fnType->params[i]) &&
        !(named && i < named->params.size() && named->params[i]->hasAttribute("noDerivative")))
      tangents.push_back(types.tangentType(fnType->params[i]));
  if (tangents.empty()) {
    auto diag = diags.report(DiagId::err_ad_no_diff_params, arg->loc, {what});
    if (auto *n = dynCast<NameExpr>(inner))
      if (auto *fd = dynCast<FuncDecl>(n->decl))
        for (ParamDecl *p : fd->params)
          if (p->type)
            diag.note(DiagId::note_ad_param_not_diff, p->nameLoc, {p->name, p->type->str()});
    return types.errorType();
  }
  const Type *result = fnType->result;
  if ((b == Builtin::Grad || b == Builtin::ValueAndGrad) && !result->isFloatingPoint()) {
    diags.report(DiagId::err_ad_scalar_result, call->callee->loc, {op, what, result->str()})
        .note(DiagId::note_ad_use_sum_or_vjp, call->callee->loc);
    return types.errorType();
  }
  if ((b == Builtin::Vjp || b == Builtin::Jvp) && !types.isDifferentiable(result)) {
    diags.report(DiagId::err_ad_result_not_diff, call->callee->loc, {op, what, result->str()});
    return types.errorType();
  }
  const Type *gradients = tangents.size() == 1 ? tangents.front() : types.tupleType(tangents);
  const Type *resultTangent = types.tangentType(result);
  switch (b) {
  case Builtin::Grad:
    return types.functionType(fnType->params, gradients);
  case Builtin::ValueAndGrad:
    return types.functionType(fnType->params, types.tupleType({result, gradients}));
  case Builtin::Vjp: {
    const Type *pullback = types.functionType({resultTangent}, gradients);
    return types.functionType(fnType->params, types.tupleType({result, pullback}));
  }
  case Builtin::Jvp: {
    std::vector<const Type *> params = fnType->params;
    params.insert(params.end(), tangents.begin(), tangents.end());
    return types.functionType(params, types.tupleType({result, resultTangent}));
  }
  default:
    DLC_UNREACHABLE("not an AD operator");
  }
}

} // namespace dlc::sema
