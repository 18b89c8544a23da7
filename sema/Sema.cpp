// Sema's entry point and declarations: collects global names, resolves
// written types, struct fields and function signatures, then checks every
// body (CheckStmt.cpp / CheckExpr.cpp / CheckCall.cpp).
#include "sema/SemaImpl.h"

#include <algorithm>
#include <functional>
#include <set>

#include "frontend/Assert.h"

namespace dlc::sema {

bool check(Program &program, TypeContext &types, DiagEngine &diags, CheckedProgram &out) {
  unsigned before = diags.errorCount();
  Sema sema(program, types, diags, out);
  sema.run();
  return diags.errorCount() == before;
}

std::string Candidate::describe() const {
  std::string s = name + "(";
  for (size_t i = 0; i < params.size(); ++i) {
    if (i)
      s += ", ";
    if (!labels[i].empty() && labels[i] != "_")
      s += labels[i] + ": ";
    if (inout[i])
      s += "inout ";
    s += params[i]->str();
  }
  s += ")";
  if (result && !result->isUnit())
    s += " -> " + result->str();
  return s;
}

namespace {

size_t editDistance(const std::string &a, const std::string &b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool isPrimitiveTypeName(const std::string &name) {
  return name == "Int" || name == "Float" || name == "Double" || name == "Bool" ||
         name == "String";
}

} // namespace

bool Sema::run() {
  collectGlobals();
  for (auto &[decl, type] : structTypes)
    resolveStruct(decl);
  // A struct may not contain itself by value (instances are checked as
  // they are made, Sema::instantiateStruct).
  for (auto &[decl, type] : structTypes)
    if (!decl->genericOrigin)
      checkNotRecursive(decl);
  // Tangent types are computed only once every struct's fields are known.
  for (auto &[decl, type] : structTypes)
    if (type->differentiable && !types.tangentType(type))
      diags.report(DiagId::err_struct_empty_tangent, decl->nameLoc, {decl->name});
  for (auto &file : program.files)
    for (Decl *d : file->decls) {
      if (auto *f = dynCast<FuncDecl>(d)) {
        if (!f->isGeneric()) // instantiated per use (Note [Monomorphization])
          resolveSignature(f);
      } else if (auto *s = dynCast<StructDecl>(d)) {
        if (s->isGenericDecl()) {
          for (FuncDecl *m : s->methods)
            if (m->isGeneric())
              diags.report(DiagId::err_not_supported, m->genericParams.front()->loc,
                           {"a generic method"});
          continue;
        }
        for (FuncDecl *m : s->inits)
          resolveSignature(m);
        for (FuncDecl *m : s->methods)
          resolveSignature(m);
      }
    }
  for (auto &[name, t] : traits)
    checkTraitDecl(t);
  for (auto &file : program.files)
    for (Decl *d : file->decls)
      if (auto *s = dynCast<StructDecl>(d); s && s->type && !s->isGenericDecl())
        checkConformances(s);
  checkDerivativeAttributes();
  // Two functions of one name and one signature in the same file (or in one
  // struct) are a redeclaration; across files the clash shows at the call.
  for (size_t i = 0; i < out.functions.size(); ++i)
    for (size_t j = 0; j < i; ++j) {
      FuncDecl *a = out.functions[j], *b = out.functions[i];
      if (a->name != b->name || a->parent != b->parent || a->loc.file != b->loc.file ||
          a->type != b->type || a->isStatic != b->isStatic)
        continue;
      Candidate ca = candidateFor(a), cb = candidateFor(b);
      if (ca.labels != cb.labels)
        continue;
      diags.report(DiagId::err_redefinition, b->nameLoc, {b->name})
          .note(DiagId::note_previous_definition, a->nameLoc, {a->name});
      break;
    }
  for (auto &file : program.files) {
    for (Stmt *s : file->topLevelStmts)
      diags.report(DiagId::err_top_level_statement, s->loc);
    for (Decl *d : file->decls) {
      if (auto *f = dynCast<FuncDecl>(d)) {
        if (f->type)
          checkFunctionBody(f);
      } else if (auto *s = dynCast<StructDecl>(d)) {
        if (s->isGenericDecl())
          continue;
        for (FuncDecl *m : s->inits)
          if (m->type)
            checkFunctionBody(m);
        for (FuncDecl *m : s->methods)
          if (m->type)
            checkFunctionBody(m);
      }
    }
  }
  checkPendingBodies();
  instantiateTensorRules();
  checkPendingBodies();
  checkDerivativeAttributes(); // of the instances
  // `fn main()` of the main file.
  if (program.mainFile)
    for (Decl *d : program.mainFile->decls)
      if (auto *f = dynCast<FuncDecl>(d); f && f->name == "main" && f->type) {
        auto *ft = asFunction(f->type);
        bool okResult = ft->result->isUnit() || ft->result->kind == TypeKind::Int;
        if (!ft->params.empty() || !okResult || f->funcKind != FuncDecl::Kind::Function) {
          diags.report(DiagId::err_main_signature, f->nameLoc);
          continue;
        }
        out.main = f;
      }
  return !diags.hasErrors();
}

bool Sema::checkNotRecursive(StructDecl *decl) {
  const StructType *type = structTypes[decl];
  std::set<const StructType *> seen;
  std::function<bool(const Type *)> contains = [&](const Type *t) -> bool {
    if (auto *st = asStruct(t)) {
      if (st == type)
        return true;
      if (!seen.insert(st).second)
        return false;
      for (auto &f : st->fields)
        if (contains(f.type))
          return true;
    } else if (auto *tt = asTuple(t)) {
      for (auto *e : tt->elements)
        if (contains(e))
          return true;
    }
    return false;
  };
  for (auto &f : type->fields) {
    seen.clear();
    if (contains(f.type)) {
      diags.report(DiagId::err_recursive_struct, decl->nameLoc, {decl->name});
      return false;
    }
  }
  return true;
}

void Sema::collectGlobals() {
  for (auto &file : program.files) {
    for (Decl *d : file->decls) {
      if (auto *imp = dynCast<ImportDecl>(d)) {
        if (!imp->isPath)
          for (auto &f : program.files)
            if (f->path == "<stdlib>/" + imp->name + ".dl")
              modules[imp->name] = f->fileId;
        continue;
      }
      if (auto *t = dynCast<TraitDecl>(d)) {
        auto [it, inserted] = traits.emplace(t->name, t);
        if (!inserted || t->name == "Differentiable" || lookupTypeName(t->name, t->loc, false)) {
          auto diag = diags.report(DiagId::err_redefinition, t->nameLoc, {t->name});
          if (!inserted)
            diag.note(DiagId::note_previous_definition, it->second->nameLoc, {t->name});
        }
        continue;
      }
      if (auto *s = dynCast<StructDecl>(d)) {
        if (isPrimitiveTypeName(s->name) || s->name == "Array" || s->name == "Tensor") {
          diags.report(DiagId::err_redefinition, s->nameLoc, {s->name});
          continue;
        }
        // Two structs of one name in the same file: a redeclaration.
        bool duplicate = false;
        for (Decl *other : globals[s->name])
          if (other->loc.file == s->loc.file) {
            diags.report(DiagId::err_redefinition, s->nameLoc, {s->name})
                .note(DiagId::note_previous_definition, other->nameLoc, {s->name});
            duplicate = true;
            break;
          }
        if (duplicate)
          continue;
        if (s->isGenericDecl()) { // instantiated per use (Note [Monomorphization])
          globals[s->name].push_back(s);
          continue;
        }
        StructType *st = types.createStruct(s->name, s);
        s->type = st;
        structTypes[s] = st;
        out.structs.push_back(s);
      }
      globals[d->name].push_back(d);
    }
  }
}

std::vector<Decl *> Sema::lookupGlobal(const std::string &name) const {
  if (inDerivativeRules())
    return {}; // only builtins (Note [Derivative rules in DL])
  auto it = globals.find(name);
  return it == globals.end() ? std::vector<Decl *>{} : it->second;
}

void Sema::resolveStruct(StructDecl *s) {
  StructType *st = structTypes[s];
  if (st->complete || resolvingStructs.count(s))
    return; // already resolved, or being resolved (S.Tangent inside S)
  resolvingStructs.insert(s);
  for (TypeRepr *c : s->conformances) {
    std::string name = traitNameOf(c);
    if (name == "Differentiable") {
      st->differentiable = true;
    } else if (traitRefines(name, "Differentiable")) {
      st->differentiable = true;
      st->emptyTangentAllowed = true; // parameterless layers (docs/DECISIONS.md)
    } else if (!lookupTrait(name)) {
      diags.report(DiagId::err_unknown_trait, c->loc, {name});
    }
  }
  std::set<std::string> names;
  unsigned index = 0;
  for (VarDecl *field : s->fields) {
    const Type *t = field->typeRepr ? resolveType(field->typeRepr, s) : types.errorType();
    field->type = t;
    field->fieldIndex = index++;
    if (!names.insert(field->name).second)
      diags.report(DiagId::err_duplicate_field, field->nameLoc, {s->name, field->name});
    if (field->init)
      diags.report(DiagId::err_not_supported, field->init->loc, {"a default value for a field"});
    st->fields.push_back({field->name, t, field->hasAttribute("noDerivative")});
  }
  st->complete = true;
}

void Sema::resolveSignature(FuncDecl *f) {
  StructDecl *owner = f->parent;
  if (f->isGeneric()) {
    diags.report(DiagId::err_not_supported, f->genericParams.front()->loc, {"a generic method"});
    return;
  }
  for (const Attribute &a : f->attributes)
    if (a.name == "noDerivative")
      diags.report(DiagId::err_no_derivative_place, a.loc);
  std::vector<const Type *> params;
  for (ParamDecl *p : f->params) {
    p->type = p->typeRepr ? resolveType(p->typeRepr, owner) : types.errorType();
    if (!p->typeRepr) {
      diags.report(DiagId::err_cannot_infer, p->loc, {"parameter '" + p->name + "'"});
    }
    params.push_back(p->type);
  }
  f->resultType = f->resultRepr ? resolveType(f->resultRepr, owner) : types.unitType();
  if (f->funcKind == FuncDecl::Kind::Init)
    f->resultType = owner ? owner->type : types.errorType();
  if (f->funcKind == FuncDecl::Kind::Extern) {
    auto cType = [](const Type *t, bool isResult) {
      return t->isScalar() || t->isError() || (!isResult && t->kind == TypeKind::String) ||
             (isResult && t->isUnit());
    };
    for (ParamDecl *p : f->params)
      if (!cType(p->type, false))
        diags.report(DiagId::err_extern_type, p->loc, {p->type->str()});
    if (!cType(f->resultType, true))
      diags.report(DiagId::err_extern_type, f->resultRepr ? f->resultRepr->loc : f->loc,
                   {f->resultType->str()});
    if (f->body)
      diags.report(DiagId::err_extern_body, f->body->loc);
  } else if (!f->body && f->funcKind != FuncDecl::Kind::Requirement) {
    diags.report(DiagId::err_missing_body, f->nameLoc, {f->name});
  }
  // Methods and inits receive `self`; make the implicit receiver explicit.
  if (owner && !f->isStatic && !f->selfParam) {
    auto *self = program.context.make<ParamDecl>(f->loc);
    self->name = "self";
    self->label = "_";
    self->isSelf = true;
    f->selfParam = self;
  }
  if (f->selfParam) {
    if (f->isStatic)
      diags.report(DiagId::err_static_self, f->selfParam->loc);
    f->selfParam->type = owner ? owner->type : types.errorType();
    f->selfParam->isInout = f->isMutating || f->funcKind == FuncDecl::Kind::Init;
  }
  f->type = types.functionType(params, f->resultType);
  out.functions.push_back(f);
}

void Sema::checkFunctionBody(FuncDecl *f) {
  if (!f->body)
    return;
  FuncContext ctx;
  ctx.decl = f;
  ctx.resultType = f->funcKind == FuncDecl::Kind::Init ? types.unitType() : f->resultType;
  ctx.owner = f->parent;
  ctx.isInit = f->funcKind == FuncDecl::Kind::Init;
  ctx.isMutating = f->isMutating || ctx.isInit;
  ctx.isStatic = f->isStatic;
  ctx.scopeBase = scopes.size();
  funcs.push_back(ctx);
  pushScope();
  if (f->selfParam)
    scopes.back()["self"] = f->selfParam;
  for (ParamDecl *p : f->params)
    declareLocal(p);
  if (!ctx.resultType->isUnit())
    makeImplicitReturn(f->body);
  checkBlock(f->body);
  if (!ctx.resultType->isUnit() && !ctx.resultType->isError() && !blockAlwaysExits(f->body))
    diags.report(DiagId::err_missing_return, f->body->endLoc.isValid() ? f->body->endLoc : f->loc,
                 {ctx.resultType->str()});
  popScope();
  funcs.pop_back();
  checkDefiniteInit(f);
}

StructDecl *Sema::currentStruct() const {
  for (auto it = funcs.rbegin(); it != funcs.rend(); ++it)
    if (it->owner)
      return it->owner;
  return nullptr;
}

const Type *Sema::lookupTypeName(const std::string &name, SourceLoc loc, bool report) {
  if (name == "Int")
    return types.intType();
  if (name == "Float")
    return types.floatType();
  if (name == "Double")
    return types.doubleType();
  if (name == "Bool")
    return types.boolType();
  if (name == "String")
    return types.stringType();
  if (auto it = activeSubst.find(name); it != activeSubst.end())
    return it->second;
  std::vector<StructDecl *> found;
  for (Decl *d : lookupGlobal(name))
    if (auto *s = dynCast<StructDecl>(d))
      found.push_back(s);
  if (found.size() == 1 && !found.front()->isGenericDecl())
    return found.front()->type;
  if (found.size() == 1) {
    if (report) {
      checkGenericArgCount(name, found.front()->genericParams.size(), 0, loc);
      return types.errorType();
    }
    return nullptr;
  }
  if (name == "Tensor" && found.empty())
    return types.tensorType(types.floatType());
  if (!report)
    return nullptr;
  if (found.size() > 1) {
    auto diag = diags.report(DiagId::err_ambiguous_name, loc, {name});
    for (StructDecl *s : found)
      diag.note(DiagId::note_defined_here, s->nameLoc, {name});
    return types.errorType();
  }
  if (name == "Differentiable" || lookupTrait(name)) {
    diags.report(DiagId::err_trait_as_type, loc, {name});
    return types.errorType();
  }
  auto diag = diags.report(DiagId::err_unknown_type, loc, {name});
  if (const char *module = stdlibModuleOf(name))
    diag.note(DiagId::note_stdlib_import, SourceLoc{}, {name, module});
  else
    noteSimilarNames(diag, name, true);
  return types.errorType();
}

const Type *Sema::resolveType(TypeRepr *repr, StructDecl *selfStruct) {
  const Type *result = types.errorType();
  switch (repr->kind) {
  case NodeKind::NamedTypeRepr: {
    auto *named = cast<NamedTypeRepr>(repr);
    // `nn.Dense`, `nn.Dense.Tangent`: a module's name qualifies a type.
    if (named->components.size() > 1 && isModuleName(named->components.front().name) &&
        named->components.front().genericArgs.empty() &&
        !lookupTypeName(named->components.front().name, named->loc, false)) {
      const std::string &module = named->components.front().name;
      const std::string &member = named->components[1].name;
      if (!moduleHasMember(module, member)) {
        diags.report(DiagId::err_module_member, named->components[1].loc, {module, member});
        break;
      }
      auto *rest = program.context.make<NamedTypeRepr>(named->components[1].loc);
      rest->components.assign(named->components.begin() + 1, named->components.end());
      result = resolveType(rest, selfStruct);
      break;
    }
    const auto &first = named->components.front();
    if (named->components.size() == 2 && named->components[1].name == "Tangent" &&
        first.genericArgs.empty()) {
      // S.Tangent (§5.2); Float.Tangent is Float.
      const Type *base = first.name == "Self" && selfStruct ? selfStruct->type
                                                            : lookupTypeName(first.name, first.loc, true);
      if (!base || base->isError())
        break;
      if (auto *st = asStruct(base); st && !st->complete && st->decl)
        resolveStruct(st->decl); // its fields decide its tangent
      if (!types.isDifferentiable(base)) {
        diags.report(DiagId::err_no_tangent, named->components[1].loc, {base->str()});
        break;
      }
      result = types.tangentType(base);
      break;
    }
    if (named->components.size() > 1) {
      diags.report(DiagId::err_not_supported, named->components[1].loc,
                   {"the member type '" + first.name + "." + named->components[1].name + "'"});
      break;
    }
    if (first.name == "Tensor" && first.genericArgs.size() == 1 &&
        lookupTypeName("Tensor", first.loc, false) == types.tensorType(types.floatType())) {
      const Type *e = resolveType(first.genericArgs.front(), selfStruct);
      if (e->isError())
        break;
      if (!e->isScalar()) {
        diags.report(DiagId::err_tensor_element, first.genericArgs.front()->loc, {e->str()});
        break;
      }
      result = types.tensorType(e);
      break;
    }
    if (!first.genericArgs.empty()) {
      // `Residual<Dense>`: an instance of a generic struct.
      StructDecl *generic = nullptr;
      for (Decl *d : lookupGlobal(first.name))
        if (auto *s = dynCast<StructDecl>(d))
          generic = s;
      if (!generic || activeSubst.count(first.name)) {
        if (!lookupTypeName(first.name, first.loc, true)->isError())
          checkGenericArgCount(first.name, 0, first.genericArgs.size(), first.loc);
        break;
      }
      if (!checkGenericArgCount(first.name, generic->genericParams.size(), first.genericArgs.size(),
                                first.loc))
        break;
      std::vector<const Type *> args;
      for (TypeRepr *a : first.genericArgs)
        args.push_back(resolveType(a, selfStruct));
      if (std::any_of(args.begin(), args.end(), [](const Type *t) { return t->isError(); }))
        break;
      if (!checkBounds(generic->genericParams, args, first.name, first.loc, true))
        break;
      if (StructDecl *inst = instantiateStruct(generic, args, first.loc))
        result = inst->type;
      break;
    }
    if (first.name == "Self") {
      if (selfStruct)
        result = selfStruct->type;
      else
        diags.report(DiagId::err_unknown_type, first.loc, {"Self"});
      break;
    }
    result = lookupTypeName(first.name, first.loc, true);
    break;
  }
  case NodeKind::TupleTypeRepr: {
    std::vector<const Type *> elems;
    for (TypeRepr *e : cast<TupleTypeRepr>(repr)->elements)
      elems.push_back(resolveType(e, selfStruct));
    result = elems.size() == 1 ? elems.front() : types.tupleType(elems);
    break;
  }
  case NodeKind::ArrayTypeRepr:
    result = types.arrayType(resolveType(cast<ArrayTypeRepr>(repr)->element, selfStruct));
    break;
  case NodeKind::FunctionTypeRepr: {
    auto *fnRepr = cast<FunctionTypeRepr>(repr);
    std::vector<const Type *> params;
    for (size_t i = 0; i < fnRepr->params.size(); ++i) {
      params.push_back(resolveType(fnRepr->params[i], selfStruct));
      if (i < fnRepr->paramInout.size() && fnRepr->paramInout[i])
        diags.report(DiagId::err_function_type_inout, fnRepr->params[i]->loc);
    }
    const Type *res = fnRepr->result ? resolveType(fnRepr->result, selfStruct) : types.unitType();
    result = types.functionType(params, res);
    break;
  }
  case NodeKind::ShapedTypeRepr:
    diags.report(DiagId::err_not_supported, repr->loc, {"a shaped tensor type"});
    break;
  default:
    DLC_UNREACHABLE("not a type repr");
  }
  repr->resolved = result;
  return result;
}

void Sema::noteSimilarNames(DiagBuilder &diag, const std::string &name, bool typesOnly) {
  std::vector<std::string> names;
  if (typesOnly) {
    for (const char *p : {"Int", "Float", "Double", "Bool", "String"})
      names.push_back(p);
  } else {
    for (auto &scope : scopes)
      for (auto &[n, d] : scope)
        names.push_back(n);
    if (StructDecl *s = currentStruct()) {
      for (VarDecl *f : s->fields)
        names.push_back(f->name);
      for (FuncDecl *m : s->methods)
        names.push_back(m->name);
    }
    for (int i = 0; i < 64; ++i) {
      if (i > int(Builtin::ToInt) - 1)
        break;
      names.push_back(builtinName(Builtin(i)));
    }
  }
  for (auto &[n, ds] : globals) {
    bool isType = !ds.empty() && isa<StructDecl>(ds.front());
    if (!typesOnly || isType)
      names.push_back(n);
  }
  std::string best;
  size_t bestDist = std::max<size_t>(1, name.size() / 3) + 1;
  for (const std::string &n : names) {
    if (n == name)
      continue;
    size_t d = editDistance(name, n);
    if (d < bestDist || (d == bestDist && !best.empty() && n < best && d < bestDist)) {
      bestDist = d;
      best = n;
    }
  }
  if (!best.empty())
    diag.note(DiagId::note_did_you_mean, SourceLoc{}, {best});
}

void Sema::declareLocal(Decl *decl) {
  if (decl->name.empty() || decl->name == "_")
    return;
  auto [it, inserted] = scopes.back().emplace(decl->name, decl);
  if (!inserted && it->second != decl) {
    SourceLoc at = decl->nameLoc.isValid() ? decl->nameLoc : decl->loc;
    SourceLoc prev = it->second->nameLoc.isValid() ? it->second->nameLoc : it->second->loc;
    diags.report(DiagId::err_redefinition, at, {decl->name})
        .note(DiagId::note_previous_definition, prev, {decl->name});
    it->second = decl;
  }
}

Decl *Sema::lookupLocal(const std::string &name, bool &captured) {
  captured = false;
  for (size_t i = scopes.size(); i-- > 0;) {
    auto it = scopes[i].find(name);
    if (it == scopes[i].end())
      continue;
    if (inFunction() && i < fn().scopeBase) {
      // Declared in an enclosing function: every lambda between captures it.
      // Only lambdas have enclosing scopes (top-level functions start fresh).
      captured = true;
      for (auto &ctx : funcs)
        if (ctx.lambda && ctx.scopeBase > i) {
          auto &caps = ctx.lambda->captures;
          if (std::find(caps.begin(), caps.end(), it->second) == caps.end())
            caps.push_back(it->second);
        }
    }
    return it->second;
  }
  return nullptr;
}

void Sema::checkDerivativeAttributes() {
  size_t first = derivativeAttrsChecked;
  derivativeAttrsChecked = out.functions.size();
  auto paramNamed = [](FuncDecl *f, const std::string &name) -> int {
    for (size_t i = 0; i < f->params.size(); ++i)
      if (f->params[i]->name == name)
        return int(i);
    return -1;
  };
  for (size_t fi = first; fi < out.functions.size(); ++fi) {
    FuncDecl *f = out.functions[fi];
    if (!f->type || (rulesFile && f->loc.file == *rulesFile))
      continue; // derivative rules: instantiateTensorRules checks them
    // @noDerivative parameters and @differentiable(wrt:) contracts.
    std::vector<bool> noDerivative;
    for (ParamDecl *p : f->params)
      noDerivative.push_back(p->hasAttribute("noDerivative"));
    if (std::find(noDerivative.begin(), noDerivative.end(), true) != noDerivative.end())
      out.noDerivativeParams[f] = noDerivative;
    for (const Attribute &a : f->attributes) {
      if (a.name != "differentiable")
        continue;
      CheckedProgram::Contract c;
      c.loc = a.loc;
      c.wrt.assign(f->params.size(), a.args.empty());
      for (const Attribute::Arg &arg : a.args) {
        if (!arg.label.empty() && arg.label != "wrt") {
          diags.report(DiagId::err_wrong_label, arg.loc, {arg.label, "wrt", "@differentiable"});
          continue;
        }
        int i = paramNamed(f, arg.value);
        if (i < 0) {
          diags.report(DiagId::err_unknown_name, arg.loc, {arg.value});
          continue;
        }
        c.wrt[size_t(i)] = true;
      }
      bool reported = false;
      for (size_t i = 0; i < f->params.size(); ++i) {
        bool diff = types.isDifferentiable(f->params[i]->type) && !noDerivative[i];
        if (c.wrt[i] && !diff && !a.args.empty()) {
          diags.report(DiagId::err_wrt_not_differentiable, a.loc,
                       {f->params[i]->name, f->params[i]->type->str()});
          reported = true;
        }
        c.wrt[i] = c.wrt[i] && diff;
      }
      if (!reported && std::find(c.wrt.begin(), c.wrt.end(), true) == c.wrt.end())
        diags.report(DiagId::err_ad_no_diff_params, a.loc, {"'" + f->name + "'"});
      out.contracts[f] = c;
    }
    // @vjp(of: g) / @jvp(of: g).
    for (const Attribute &a : f->attributes) {
      if (a.name != "vjp" && a.name != "jvp")
        continue;
      bool isVJP = a.name == "vjp";
      if (a.args.size() != 1 || a.args[0].label != "of") {
        diags.report(DiagId::err_custom_derivative_of, a.loc, {a.name});
        continue;
      }
      const std::string &of = a.args[0].value;
      if (of == "+" || of == "-" || of == "*" || of == "/") {
        // Only stdlib/derivatives.dl names operators (for tensors).
        diags.report(DiagId::err_not_supported, a.args[0].loc,
                     {"a '@" + a.name + "' of the operator '" + of + "'"});
        continue;
      }
      std::vector<FuncDecl *> targets;
      for (Decl *d : lookupGlobal(a.args[0].value))
        if (auto *g = dynCast<FuncDecl>(d); g && g->type && !g->parent)
          targets.push_back(g);
      if (targets.empty()) {
        diags.report(DiagId::err_unknown_name, a.args[0].loc, {a.args[0].value});
        continue;
      }
      // Among overloads, the one whose parameters begin f's.
      FuncDecl *g = targets.front();
      for (FuncDecl *t : targets) {
        auto *tt = asFunction(t->type);
        auto *ft = asFunction(f->type);
        if (ft->params.size() >= tt->params.size() &&
            std::equal(tt->params.begin(), tt->params.end(), ft->params.begin()))
          g = t;
      }
      auto *gt = asFunction(g->type);
      std::vector<const Type *> tangents;
      for (size_t i = 0; i < g->params.size(); ++i)
        if (types.isDifferentiable(gt->params[i]) && !g->params[i]->hasAttribute("noDerivative"))
          tangents.push_back(types.tangentType(gt->params[i]));
      const Type *resultTangent = types.tangentType(gt->result);
      if (tangents.empty() || !resultTangent) {
        diags.report(DiagId::err_ad_no_diff_params, a.loc, {"'" + g->name + "'"});
        continue;
      }
      std::vector<const Type *> params = gt->params;
      const Type *result;
      if (isVJP) {
        params.push_back(resultTangent);
        result = tangents.size() == 1 ? tangents.front() : types.tupleType(tangents);
      } else {
        params.insert(params.end(), tangents.begin(), tangents.end());
        result = types.tupleType({gt->result, resultTangent});
      }
      const Type *expected = types.functionType(params, result);
      if (f->type != expected || std::any_of(f->params.begin(), f->params.end(),
                                             [](ParamDecl *p) { return p->isInout; })) {
        diags.report(DiagId::err_custom_derivative_signature, f->nameLoc,
                     {"@" + a.name, f->name, g->name, expected->str()});
        continue;
      }
      auto &table = isVJP ? out.customVJP : out.customJVP;
      if (table.count(g)) {
        diags.report(DiagId::err_custom_derivative_twice, a.loc, {a.name, g->name});
        continue;
      }
      table[g] = f;
    }
  }
}

} // namespace dlc::sema
