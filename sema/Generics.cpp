// Traits, generics and module-qualified names (LANGUAGE.md §3).
//
// Note [Monomorphization]
// ~~~~~~~~~~~~~~~~~~~~~~~
// A generic function or struct is never checked as written. Each use with
// new generic arguments makes an *instance*: a deep copy of the declaration
// (ast::cloneFunc / cloneStruct) whose generic parameters are bound to
// concrete types in `genericSubst`. While sema resolves the instance's
// signature or checks its body, `activeSubst` maps each parameter name to its
// type, so `T`, `[T]` and `M.Tangent` resolve like any written type. From
// then on an instance is an ordinary function or struct: lowering, AD and
// codegen never see a generic.
//
//  * Generic arguments are inferred from the call's argument types by
//    matching each parameter's written type against the argument's type
//    (`unify`), or written explicitly (`applyTwice<Dense>(…)`, `Adam<MLP>(…)`).
//  * Every bound (`<L: Layer>`) is checked against the argument type before
//    the instance is made; a struct conforms to a trait only by declaring it.
//  * Instance bodies are queued (`pendingBodies`) and checked after the body
//    being checked, never nested inside it; an error in one carries the note
//    "in 'f<Float>', instantiated here" pointing at the first use.
//  * Instances are cached by (declaration, arguments), and named
//    `f<Float>` / `Residual<Dense>` in messages and in `--emit ir`.
//
// As in C++ and unlike Swift or Rust, a generic body is type-checked per
// instance rather than once against its bounds (docs/DECISIONS.md).
#include "sema/SemaImpl.h"

#include "frontend/Assert.h"

#include <algorithm>

namespace dlc::sema {

namespace {

/// Binds `activeSubst` to a declaration's generic arguments for the
/// lifetime of the guard, restoring the enclosing binding afterwards.
class SubstScope {
public:
  SubstScope(Sema &sema, const std::vector<std::pair<std::string, const Type *>> &subst)
      : sema(sema), saved(std::move(sema.activeSubst)) {
    sema.activeSubst.clear();
    for (auto &[name, type] : subst)
      sema.activeSubst[name] = type;
  }
  ~SubstScope() { sema.activeSubst = std::move(saved); }
  SubstScope(const SubstScope &) = delete;
  SubstScope &operator=(const SubstScope &) = delete;

private:
  Sema &sema;
  std::map<std::string, const Type *> saved;
};

std::string typeList(const std::vector<const Type *> &args) {
  std::string s;
  for (size_t i = 0; i < args.size(); ++i)
    s += (i ? ", " : "") + args[i]->str();
  return s;
}

constexpr unsigned kMaxInstantiationDepth = 32;

} // namespace

// --- Traits -------------------------------------------------------------------

std::string Sema::traitNameOf(const TypeRepr *r) const {
  auto *named = dynCast<NamedTypeRepr>(r);
  if (!named)
    return "?";
  // `Layer` or `nn.Layer`.
  if (named->components.size() == 2 && isModuleName(named->components.front().name))
    return named->components.back().name;
  return named->components.size() == 1 ? named->components.front().name : "?";
}

TraitDecl *Sema::lookupTrait(const std::string &name) const {
  auto it = traits.find(name);
  return it == traits.end() ? nullptr : it->second;
}

bool Sema::traitRefines(const std::string &trait, const std::string &ancestor) const {
  if (trait == ancestor)
    return true;
  TraitDecl *t = lookupTrait(trait);
  if (!t || visitingTraits.count(t))
    return false;
  visitingTraits.insert(t);
  bool found = false;
  for (TypeRepr *r : t->refines)
    found = found || traitRefines(traitNameOf(r), ancestor);
  visitingTraits.erase(t);
  return found;
}

bool Sema::conformsTo(const Type *t, const std::string &trait) {
  if (t->isError())
    return true;
  if (trait == "Differentiable")
    return types.isDifferentiable(t);
  auto *st = asStruct(t);
  if (!st || !st->decl)
    return false;
  for (TypeRepr *c : st->decl->conformances)
    if (traitRefines(traitNameOf(c), trait))
      return true;
  return false;
}

void Sema::collectRequirements(const std::string &trait, std::vector<FuncDecl *> &out,
                               std::set<std::string> &seen) const {
  if (!seen.insert(trait).second)
    return;
  TraitDecl *t = lookupTrait(trait);
  if (!t)
    return;
  for (TypeRepr *r : t->refines)
    collectRequirements(traitNameOf(r), out, seen);
  for (FuncDecl *req : t->requirements)
    out.push_back(req);
}

void Sema::checkTraitDecl(TraitDecl *t) {
  for (TypeRepr *r : t->refines) {
    std::string name = traitNameOf(r);
    if (name != "Differentiable" && !lookupTrait(name))
      diags.report(DiagId::err_unknown_trait, r->loc, {name});
  }
  for (FuncDecl *req : t->requirements) {
    if (req->isGeneric())
      diags.report(DiagId::err_not_supported, req->genericParams.front()->loc,
                   {"a generic trait method"});
  }
}

void Sema::checkConformances(StructDecl *s) {
  auto *st = asStruct(s->type);
  if (!st)
    return;
  for (TypeRepr *c : s->conformances) {
    std::string trait = traitNameOf(c);
    if (trait == "Differentiable" || !lookupTrait(trait))
      continue;
    std::vector<FuncDecl *> reqs;
    std::set<std::string> seen;
    collectRequirements(trait, reqs, seen);
    for (FuncDecl *req : reqs) {
      // The requirement's types, with `Self` meaning this struct.
      std::vector<const Type *> params;
      for (ParamDecl *p : req->params)
        params.push_back(p->typeRepr ? resolveType(p->typeRepr, s) : types.errorType());
      const Type *result = req->resultRepr ? resolveType(req->resultRepr, s) : types.unitType();
      const FunctionType *want = types.functionType(params, result);
      Candidate shown;
      shown.name = req->name;
      for (size_t i = 0; i < req->params.size(); ++i) {
        shown.params.push_back(params[i]);
        shown.labels.push_back(req->params[i]->label.empty() ? req->params[i]->name
                                                              : req->params[i]->label);
        shown.inout.push_back(req->params[i]->isInout);
      }
      shown.result = result;
      FuncDecl *match = nullptr;
      std::vector<FuncDecl *> sameName;
      for (FuncDecl *m : s->methods)
        if (m->name == req->name && m->isStatic == req->isStatic) {
          sameName.push_back(m);
          if (m->type == want && m->isMutating == req->isMutating)
            match = m;
        }
      if (!match) {
        std::string parent = req->parentTrait ? req->parentTrait->name : trait;
        if (sameName.empty())
          diags.report(DiagId::err_missing_requirement, s->nameLoc, {s->name, trait, req->name})
              .note(DiagId::note_requirement, req->nameLoc, {parent, shown.describe()});
        else
          diags.report(DiagId::err_requirement_mismatch, sameName.front()->nameLoc,
                       {req->name, s->name, trait})
              .note(DiagId::note_requirement, req->nameLoc, {parent, shown.describe()});
        continue;
      }
      // A `@differentiable` requirement makes the implementation's contract.
      if (req->hasAttribute("differentiable") && !match->hasAttribute("differentiable"))
        for (const Attribute &a : req->attributes)
          if (a.name == "differentiable")
            match->attributes.push_back(a);
    }
  }
}

// --- Modules ------------------------------------------------------------------

bool Sema::isModuleName(const std::string &name) const { return modules.count(name) != 0; }

bool Sema::moduleHasMember(const std::string &module, const std::string &member) const {
  auto it = modules.find(module);
  if (it == modules.end())
    return false;
  for (Decl *d : lookupGlobal(member))
    if (d->loc.file == it->second)
      return true;
  return false;
}

// --- Inference ------------------------------------------------------------------

bool Sema::unify(TypeRepr *pattern, const Type *actual, const std::set<std::string> &params,
                 std::map<std::string, const Type *> &bound) {
  if (!pattern || !actual || actual->isError())
    return true;
  switch (pattern->kind) {
  case NodeKind::NamedTypeRepr: {
    auto *named = cast<NamedTypeRepr>(pattern);
    if (named->components.size() != 1)
      return true; // `M.Tangent`: decided by M
    const auto &c = named->components.front();
    if (c.genericArgs.empty() && params.count(c.name)) {
      auto [it, inserted] = bound.emplace(c.name, actual);
      return inserted || it->second == actual;
    }
    if (c.name == "Tensor" && c.genericArgs.size() == 1) {
      if (auto *tt = asTensor(actual))
        return unify(c.genericArgs.front(), tt->element, params, bound);
      return true;
    }
    if (!c.genericArgs.empty())
      if (auto *st = asStruct(actual); st && st->decl && st->decl->genericOrigin &&
                                       st->decl->genericOrigin->name == c.name) {
        auto &subst = st->decl->genericSubst;
        for (size_t i = 0; i < c.genericArgs.size() && i < subst.size(); ++i)
          if (!unify(c.genericArgs[i], subst[i].second, params, bound))
            return false;
      }
    return true;
  }
  case NodeKind::TupleTypeRepr: {
    auto *tt = asTuple(actual);
    auto &elems = cast<TupleTypeRepr>(pattern)->elements;
    if (elems.size() == 1)
      return unify(elems.front(), actual, params, bound);
    if (!tt || tt->elements.size() != elems.size())
      return true;
    for (size_t i = 0; i < elems.size(); ++i)
      if (!unify(elems[i], tt->elements[i], params, bound))
        return false;
    return true;
  }
  case NodeKind::ArrayTypeRepr:
    if (auto *at = asArray(actual))
      return unify(cast<ArrayTypeRepr>(pattern)->element, at->element, params, bound);
    return true;
  case NodeKind::FunctionTypeRepr: {
    auto *fnRepr = cast<FunctionTypeRepr>(pattern);
    auto *ft = asFunction(actual);
    if (!ft || ft->params.size() != fnRepr->params.size())
      return true;
    for (size_t i = 0; i < ft->params.size(); ++i)
      if (!unify(fnRepr->params[i], ft->params[i], params, bound))
        return false;
    return !fnRepr->result || unify(fnRepr->result, ft->result, params, bound);
  }
  default:
    return true;
  }
}

bool Sema::inferGenericArgs(const std::vector<GenericParamDecl *> &generics,
                            const std::vector<TypeRepr *> &paramReprs,
                            const std::vector<ArgInfo> &infos,
                            const std::vector<const Type *> &explicitArgs,
                            std::vector<const Type *> &result, std::string &unbound) {
  std::set<std::string> names;
  for (GenericParamDecl *g : generics)
    names.insert(g->name);
  std::map<std::string, const Type *> bound;
  for (size_t i = 0; i < explicitArgs.size() && i < generics.size(); ++i)
    bound[generics[i]->name] = explicitArgs[i];
  for (size_t i = 0; i < infos.size() && i < paramReprs.size(); ++i)
    if (infos[i].kind == ArgInfo::Kind::Typed && !unify(paramReprs[i], infos[i].type, names, bound))
      return false;
  // A literal passed straight to a `T` parameter takes its default type.
  for (size_t i = 0; i < infos.size() && i < paramReprs.size(); ++i) {
    auto *named = dynCast<NamedTypeRepr>(paramReprs[i]);
    if (!named || named->components.size() != 1 || !names.count(named->components[0].name))
      continue;
    const Type *literal = infos[i].kind == ArgInfo::Kind::IntLiteral     ? types.intType()
                          : infos[i].kind == ArgInfo::Kind::FloatLiteral ? types.floatType()
                                                                         : nullptr;
    if (literal)
      bound.emplace(named->components[0].name, literal);
  }
  result.clear();
  for (GenericParamDecl *g : generics) {
    auto it = bound.find(g->name);
    if (it == bound.end()) {
      unbound = g->name;
      return false;
    }
    result.push_back(it->second);
  }
  return true;
}

bool Sema::checkBounds(const std::vector<GenericParamDecl *> &generics,
                       const std::vector<const Type *> &args, const std::string &ownerName,
                       SourceLoc loc, bool report) {
  for (size_t i = 0; i < generics.size() && i < args.size(); ++i)
    for (TypeRepr *b : generics[i]->bounds) {
      std::string trait = traitNameOf(b);
      if (trait != "Differentiable" && !lookupTrait(trait)) {
        if (report)
          diags.report(DiagId::err_unknown_trait, b->loc, {trait});
        return false;
      }
      if (!conformsTo(args[i], trait)) {
        if (report)
          diags.report(DiagId::err_generic_bound, loc,
                       {args[i]->str(), trait, generics[i]->name, ownerName});
        return false;
      }
    }
  return true;
}

std::vector<const Type *> Sema::resolveGenericArgs(const std::vector<TypeRepr *> &reprs) {
  std::vector<const Type *> args;
  for (TypeRepr *r : reprs)
    args.push_back(resolveType(r, currentStruct()));
  return args;
}

bool Sema::checkGenericArgCount(const std::string &name, size_t want, size_t given, SourceLoc loc) {
  if (want == given)
    return true;
  if (want == 0)
    diags.report(DiagId::err_not_generic, loc, {name});
  else
    diags.report(DiagId::err_generic_arg_count, loc,
                 {name, std::to_string(want), want == 1 ? "" : "s", std::to_string(given),
                  given == 1 ? "was" : "were"});
  return false;
}

// --- Instances -------------------------------------------------------------------

FuncDecl *Sema::instantiateFunction(FuncDecl *g, const std::vector<const Type *> &args,
                                    SourceLoc at, const std::vector<FuncDecl *> &staticFns) {
  std::vector<FuncDecl *> bound = staticFns;
  bound.resize(g->params.size());
  auto key = std::make_tuple(static_cast<const Decl *>(g), args, bound);
  if (auto it = instances.find(key); it != instances.end())
    return cast<FuncDecl>(it->second);
  std::string name = g->name + "<" + typeList(args) + ">";
  for (size_t i = 0; i < bound.size(); ++i)
    if (bound[i])
      name += "[" + g->params[i]->name + ": " + bound[i]->name + "]";
  if (instantiationDepth >= kMaxInstantiationDepth) {
    diags.report(DiagId::err_instantiation_depth, at, {name});
    return nullptr;
  }
  unsigned depth = instantiationDepth + 1;
  FuncDecl *inst = cloneFunc(program.context, g, g->parent);
  inst->name = name;
  inst->genericParams.clear();
  inst->genericOrigin = g;
  if (g->parent) // a generic method keeps its struct's bindings too
    inst->genericSubst = g->parent->genericSubst;
  for (size_t i = 0; i < args.size(); ++i)
    inst->genericSubst.push_back({g->genericParams[i]->name, args[i]});
  for (size_t i = 0; i < bound.size(); ++i)
    inst->params[i]->staticBinding = bound[i];
  instances[key] = inst;
  instantiationSite[inst] = at;
  instanceDepth[inst] = depth;
  {
    SubstScope scope(*this, inst->genericSubst);
    resolveSignature(inst);
  }
  if (inst->type)
    pendingBodies.push_back(inst);
  return inst->type ? inst : nullptr;
}

StructDecl *Sema::instantiateStruct(StructDecl *g, const std::vector<const Type *> &args,
                                    SourceLoc at) {
  auto key = std::make_tuple(static_cast<const Decl *>(g), args, std::vector<FuncDecl *>{});
  if (auto it = instances.find(key); it != instances.end())
    return cast<StructDecl>(it->second);
  std::string name = g->name + "<" + typeList(args) + ">";
  if (instantiationDepth >= kMaxInstantiationDepth) {
    diags.report(DiagId::err_instantiation_depth, at, {name});
    return nullptr;
  }
  unsigned savedDepth = instantiationDepth++;
  StructDecl *inst = cloneStruct(program.context, g);
  inst->name = name;
  inst->genericParams.clear();
  inst->genericOrigin = g;
  for (size_t i = 0; i < args.size(); ++i)
    inst->genericSubst.push_back({g->genericParams[i]->name, args[i]});
  for (FuncDecl *m : inst->methods)
    m->genericSubst = inst->genericSubst;
  for (FuncDecl *m : inst->inits)
    m->genericSubst = inst->genericSubst;
  instances[key] = inst;
  StructType *st = types.createStruct(name, inst);
  inst->type = st;
  structTypes[inst] = st;
  out.structs.push_back(inst);
  {
    SubstScope scope(*this, inst->genericSubst);
    for (const Type *a : args)
      if (auto *as = asStruct(a); as && !as->complete && as->decl)
        resolveStruct(as->decl);
    resolveStruct(inst);
    if (!checkNotRecursive(inst)) { // `struct Node<T> { var next: Node<T> }`
      instantiationDepth = savedDepth;
      return inst;
    }
    if (st->differentiable && !types.tangentType(st))
      diags.report(DiagId::err_struct_empty_tangent, inst->nameLoc, {name});
    for (FuncDecl *m : inst->inits)
      resolveSignature(m);
    for (FuncDecl *m : inst->methods)
      if (!m->isGeneric()) // reported once, at the generic declaration (Sema::run)
        resolveSignature(m);
    checkConformances(inst);
  }
  std::vector<FuncDecl *> members = inst->inits;
  members.insert(members.end(), inst->methods.begin(), inst->methods.end());
  for (FuncDecl *m : members)
    if (m->type) {
      instantiationSite[m] = at;
      instanceDepth[m] = instantiationDepth;
      pendingBodies.push_back(m);
    }
  instantiationDepth = savedDepth;
  return inst;
}

void Sema::addGenericCandidates(CallExpr *call, const std::vector<FuncDecl *> &generics,
                                const std::vector<const Type *> &explicitArgs,
                                const std::vector<ArgInfo> &infos, bool report,
                                std::vector<Candidate> &candidates,
                                std::vector<FuncDecl *> &fresh) {
  size_t n = call->args.size();
  for (FuncDecl *g : generics) {
    if (g->params.size() != n) {
      if (report)
        diags.report(DiagId::err_arg_count, call->loc,
                     {g->name, std::to_string(g->params.size()), g->params.size() == 1 ? "" : "s",
                      std::to_string(n), n == 1 ? "was" : "were"});
      continue;
    }
    if (!explicitArgs.empty() &&
        (report ? !checkGenericArgCount(g->name, g->genericParams.size(), explicitArgs.size(),
                                        call->callee->loc)
                : explicitArgs.size() != g->genericParams.size()))
      continue;
    std::vector<TypeRepr *> reprs;
    for (ParamDecl *p : g->params)
      reprs.push_back(p->typeRepr);
    std::vector<const Type *> args;
    std::string unbound;
    if (!inferGenericArgs(g->genericParams, reprs, infos, explicitArgs, args, unbound)) {
      if (report && !unbound.empty())
        diags.report(DiagId::err_generic_infer, call->loc, {unbound, g->name});
      continue;
    }
    if (!checkBounds(g->genericParams, args, g->name, call->loc, report))
      continue;
    // A named function passed for a function-typed parameter specializes
    // the instance on it.
    std::vector<FuncDecl *> staticFns(n);
    for (size_t i = 0; i < n; ++i) {
      Expr *value = call->args[i].value;
      while (auto *p = dynCast<ParenExpr>(value))
        value = p->inner;
      if (auto *name = dynCast<NameExpr>(value);
          name && isa<FunctionTypeRepr>(g->params[i]->typeRepr) &&
          name->ref == NameExpr::Ref::Function && name->decl)
        staticFns[i] = cast<FuncDecl>(name->decl);
    }
    size_t before = instances.size();
    if (FuncDecl *inst = instantiateFunction(g, args, call->loc, staticFns)) {
      candidates.push_back(candidateFor(inst));
      if (instances.size() != before)
        fresh.push_back(inst);
    }
  }
}

const Type *Sema::checkGenericInit(CallExpr *call, StructDecl *s,
                                   const std::vector<const Type *> &explicitArgs,
                                   const Type *expected) {
  auto fail = [&]() {
    for (Argument &a : call->args)
      if (!a.value->type)
        checkExpr(a.value, nullptr);
    return types.errorType();
  };
  std::vector<const Type *> args = explicitArgs;
  std::vector<ArgInfo> infos;
  bool preChecked = false;
  // `let c: Box<Double> = Box(value: 1.5)`: the expected type decides.
  if (auto *want = asStruct(expected);
      args.empty() && want && want->decl && want->decl->genericOrigin == s)
    for (auto &[name, type] : want->decl->genericSubst)
      args.push_back(type);
  if (!args.empty()) {
    if (!checkGenericArgCount(s->name, s->genericParams.size(), args.size(), call->callee->loc))
      return fail();
  } else {
    infos = preCheckArgs(call);
    preChecked = true;
    // The first initializer (or the memberwise one) whose parameters bind
    // every generic parameter decides.
    std::vector<std::vector<TypeRepr *>> shapes;
    if (s->inits.empty()) {
      std::vector<TypeRepr *> fields;
      for (VarDecl *f : s->fields)
        fields.push_back(f->typeRepr);
      shapes.push_back(fields);
    }
    for (FuncDecl *init : s->inits) {
      std::vector<TypeRepr *> params;
      for (ParamDecl *p : init->params)
        params.push_back(p->typeRepr);
      shapes.push_back(params);
    }
    std::string unbound = s->genericParams.front()->name;
    bool found = false;
    for (auto &shape : shapes) {
      if (shape.size() != call->args.size())
        continue;
      std::string missing;
      if (inferGenericArgs(s->genericParams, shape, infos, {}, args, missing)) {
        found = true;
        break;
      }
      if (!missing.empty())
        unbound = missing;
    }
    if (!found) {
      diags.report(DiagId::err_generic_infer, call->loc, {unbound, s->name});
      for (size_t i = 0; i < call->args.size(); ++i)
        if (infos[i].kind != ArgInfo::Kind::Typed)
          checkExpr(call->args[i].value, nullptr);
      return types.errorType();
    }
  }
  if (!checkBounds(s->genericParams, args, s->name, call->loc, true))
    return fail();
  StructDecl *inst = instantiateStruct(s, args, call->loc);
  if (!inst)
    return fail();
  return checkInitCall(call, inst, preChecked ? &infos : nullptr);
}

void Sema::discardInstance(FuncDecl *inst) {
  for (auto it = instances.begin(); it != instances.end(); ++it)
    if (it->second == inst) {
      instances.erase(it);
      break;
    }
  std::erase(pendingBodies, inst);
  auto at = std::find(out.functions.begin(), out.functions.end(), inst);
  if (at != out.functions.end()) {
    if (size_t(at - out.functions.begin()) < derivativeAttrsChecked)
      --derivativeAttrsChecked;
    out.functions.erase(at);
  }
  instantiationSite.erase(inst);
  instanceDepth.erase(inst);
}

void Sema::checkPendingBodies() {
  while (!pendingBodies.empty()) {
    FuncDecl *f = pendingBodies.front();
    pendingBodies.erase(pendingBodies.begin());
    std::string shown = f->parent && f->parent->genericOrigin
                            ? f->parent->name + "." +
                                  (f->funcKind == FuncDecl::Kind::Init ? "init" : f->name)
                            : f->name;
    diags.pushContextNote(DiagId::note_instantiated_here, instantiationSite[f], {shown});
    {
      SubstScope scope(*this, f->genericSubst);
      unsigned saved = instantiationDepth;
      instantiationDepth = instanceDepth[f];
      checkFunctionBody(f);
      instantiationDepth = saved;
    }
    diags.popContextNote();
  }
}

} // namespace dlc::sema
