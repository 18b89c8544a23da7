// Expression checking: literal typing from context, names (locals, fields
// through implicit self, functions as values), members, indexing, operators,
// lambdas with captures, and lvalue/mutability checks.
#include "sema/SemaImpl.h"

#include "frontend/Assert.h"

#include <algorithm>

namespace dlc::sema {

namespace {
bool isArithmetic(BinaryOp op) {
  return op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Mul ||
         op == BinaryOp::Div || op == BinaryOp::Rem;
}
bool isComparison(BinaryOp op) { return op >= BinaryOp::Eq && op <= BinaryOp::Ge; }

/// 0: not a literal; 1: built from integer literals; 2: has a float literal.
int literalKind(const Expr *e) {
  switch (e->kind) {
  case NodeKind::IntLitExpr:
    return 1;
  case NodeKind::FloatLitExpr:
    return 2;
  case NodeKind::ParenExpr:
    return literalKind(cast<ParenExpr>(e)->inner);
  case NodeKind::UnaryExpr:
    return cast<UnaryExpr>(e)->op == '-' ? literalKind(cast<UnaryExpr>(e)->operand) : 0;
  case NodeKind::BinaryExpr: {
    auto *b = cast<BinaryExpr>(e);
    if (!isArithmetic(b->op))
      return 0;
    int l = literalKind(b->lhs), r = literalKind(b->rhs);
    return l && r ? std::max(l, r) : 0;
  }
  default:
    return 0;
  }
}
} // namespace

bool Sema::isLiteralLike(const Expr *expr) const { return literalKind(expr) != 0; }

const Type *Sema::checkExpr(Expr *expr, const Type *expected) {
  const Type *t = checkExprImpl(expr, expected);
  if (!t)
    t = types.errorType();
  expr->type = t;
  return t;
}

const Type *Sema::checkExprAs(Expr *expr, const Type *expected) {
  const Type *t = checkExpr(expr, expected);
  if (t != expected && !t->isError() && !expected->isError())
    diags.report(DiagId::err_type_mismatch, expr->loc, {t->str(), expected->str()});
  return t;
}

void Sema::requireValue(Expr *expr, const Type *type) {
  if (!type->isUnit())
    return;
  if (auto *call = dynCast<CallExpr>(expr)) {
    std::string name = "this call";
    if (auto *n = dynCast<NameExpr>(call->callee))
      name = n->name;
    else if (auto *m = dynCast<MemberExpr>(call->callee))
      name = m->member;
    diags.report(DiagId::err_void_value, expr->loc, {name});
  }
}

const Type *Sema::checkExprImpl(Expr *expr, const Type *expected) {
  switch (expr->kind) {
  case NodeKind::IntLitExpr:
    return checkIntLit(cast<IntLitExpr>(expr), expected, false);
  case NodeKind::FloatLitExpr:
    if (expected && expected->kind == TypeKind::Double)
      return types.doubleType();
    if (expected && expected->kind == TypeKind::Int) {
      diags.report(DiagId::err_literal_not_convertible, expr->loc, {"float", "Int"});
      return types.errorType();
    }
    return types.floatType();
  case NodeKind::BoolLitExpr:
    return types.boolType();
  case NodeKind::StringLitExpr:
    return types.stringType();
  case NodeKind::NameExpr:
    return checkName(cast<NameExpr>(expr), expected);
  case NodeKind::SelfExpr: {
    StructDecl *s = currentStruct();
    if (!s) {
      diags.report(DiagId::err_self_outside_method, expr->loc);
      return types.errorType();
    }
    bool captured;
    if (!lookupLocal("self", captured)) {
      diags.report(DiagId::err_static_self, expr->loc);
      return types.errorType();
    }
    return s->type;
  }
  case NodeKind::ParenExpr:
    return checkExpr(cast<ParenExpr>(expr)->inner, expected);
  case NodeKind::TupleExpr: {
    auto *te = cast<TupleExpr>(expr);
    auto *et = asTuple(expected);
    std::vector<const Type *> elems;
    for (size_t i = 0; i < te->elements.size(); ++i) {
      const Type *hint = et && et->elements.size() == te->elements.size() ? et->elements[i] : nullptr;
      elems.push_back(checkExpr(te->elements[i], hint));
    }
    return types.tupleType(elems);
  }
  case NodeKind::ArrayLitExpr:
    return checkArrayLit(cast<ArrayLitExpr>(expr), expected);
  case NodeKind::CallExpr:
    return checkCall(cast<CallExpr>(expr), expected);
  case NodeKind::MemberExpr:
    return checkMember(cast<MemberExpr>(expr));
  case NodeKind::IndexExpr:
    return checkIndex(cast<IndexExpr>(expr), expected);
  case NodeKind::UnaryExpr:
    return checkUnary(cast<UnaryExpr>(expr), expected);
  case NodeKind::BinaryExpr:
    return checkBinary(cast<BinaryExpr>(expr), expected);
  case NodeKind::TernaryExpr:
    return checkTernary(cast<TernaryExpr>(expr), expected);
  case NodeKind::LambdaExpr:
    return checkLambda(cast<LambdaExpr>(expr), expected);
  case NodeKind::InOutExpr:
    diags.report(DiagId::err_ampersand_outside_call, expr->loc);
    checkExpr(cast<InOutExpr>(expr)->operand, expected);
    return types.errorType();
  default:
    DLC_UNREACHABLE("not an expression");
  }
}

const Type *Sema::checkIntLit(IntLitExpr *lit, const Type *expected, bool negated) {
  const uint64_t limit = negated ? uint64_t(1) << 63 : (uint64_t(1) << 63) - 1;
  if (expected && expected->isFloatingPoint()) {
    lit->type = expected;
    return expected;
  }
  if (lit->value > limit) {
    diags.report(DiagId::err_literal_overflow, lit->loc, {lit->text});
    return types.errorType();
  }
  lit->type = types.intType();
  return types.intType();
}

const Type *Sema::checkName(NameExpr *name, const Type *expected) {
  if (!name->genericArgs.empty()) {
    // `f<Float>` as a value: the instance of a generic function.
    std::vector<FuncDecl *> generics;
    for (Decl *d : lookupGlobal(name->name))
      if (auto *f = dynCast<FuncDecl>(d); f && f->isGeneric() && !f->parent)
        generics.push_back(f);
    if (generics.size() != 1) {
      if (generics.empty())
        checkGenericArgCount(name->name, 0, name->genericArgs.size(), name->loc);
      else
        diags.report(DiagId::err_ambiguous_call, name->loc, {name->name});
      return types.errorType();
    }
    FuncDecl *g = generics.front();
    std::vector<const Type *> args = resolveGenericArgs(name->genericArgs);
    if (std::any_of(args.begin(), args.end(), [](const Type *t) { return t->isError(); }) ||
        !checkGenericArgCount(g->name, g->genericParams.size(), args.size(), name->loc) ||
        !checkBounds(g->genericParams, args, g->name, name->loc, true))
      return types.errorType();
    FuncDecl *inst = instantiateFunction(g, args, name->loc);
    if (!inst)
      return types.errorType();
    name->ref = NameExpr::Ref::Function;
    name->decl = inst;
    return inst->type;
  }
  bool captured = false;
  if (Decl *local = lookupLocal(name->name, captured)) {
    if (auto *v = dynCast<VarDecl>(local)) {
      name->ref = NameExpr::Ref::Local;
      name->decl = v;
      return v->type ? v->type : types.errorType();
    }
    auto *p = cast<ParamDecl>(local);
    if (p->staticBinding) { // see Sema::instantiateFunction
      name->ref = NameExpr::Ref::Function;
      name->decl = p->staticBinding;
      return p->staticBinding->type;
    }
    name->ref = NameExpr::Ref::Param;
    name->decl = p;
    return p->type ? p->type : types.errorType();
  }
  if (StructDecl *s = currentStruct()) {
    for (VarDecl *field : s->fields) {
      if (field->name != name->name)
        continue;
      bool selfCaptured;
      if (!lookupLocal("self", selfCaptured)) {
        diags.report(DiagId::err_static_self, name->loc);
        return types.errorType();
      }
      name->ref = NameExpr::Ref::Field;
      name->decl = field;
      return field->type ? field->type : types.errorType();
    }
    for (FuncDecl *m : s->methods)
      if (m->name == name->name) {
        diags.report(DiagId::err_not_supported, name->loc, {"a method used as a value"});
        return types.errorType();
      }
  }
  std::vector<Decl *> globalsNamed = lookupGlobal(name->name);
  std::vector<FuncDecl *> fns;
  for (Decl *d : globalsNamed) {
    if (auto *f = dynCast<FuncDecl>(d)) {
      if (f->type)
        fns.push_back(f);
      else if (f->isGeneric() && !f->parent) {
        diags.report(DiagId::err_generic_value, name->loc, {name->name});
        return types.errorType();
      } else
        return types.errorType(); // a broken function, already reported
    } else if (isa<StructDecl>(d)) {
      diags.report(DiagId::err_type_not_value, name->loc, {name->name});
      return types.errorType();
    }
  }
  if (!fns.empty()) {
    if (fns.size() > 1 && expected) {
      std::vector<FuncDecl *> matching;
      for (FuncDecl *f : fns)
        if (f->type == expected)
          matching.push_back(f);
      if (matching.size() == 1)
        fns = matching;
    }
    if (fns.size() > 1) {
      auto diag = diags.report(DiagId::err_ambiguous_call, name->loc, {name->name});
      for (FuncDecl *f : fns)
        diag.note(DiagId::note_candidate, f->nameLoc, {candidateFor(f).describe()});
      return types.errorType();
    }
    FuncDecl *f = fns.front();
    for (ParamDecl *p : f->params)
      if (p->isInout) {
        diags.report(DiagId::err_not_supported, name->loc,
                     {"a function with 'inout' parameters used as a value"});
        return types.errorType();
      }
    name->ref = NameExpr::Ref::Function;
    name->decl = f;
    return f->type;
  }
  if (lookupFreeBuiltin(name->name) >= 0) {
    diags.report(DiagId::err_not_supported, name->loc,
                 {"the built-in function '" + name->name + "' used as a value"});
    return types.errorType();
  }
  if (name->name == "Int" || name->name == "Float" || name->name == "Double" ||
      name->name == "Bool" || name->name == "String" || name->name == "Array") {
    diags.report(DiagId::err_type_not_value, name->loc, {name->name});
    return types.errorType();
  }
  auto diag = diags.report(DiagId::err_unknown_name, name->loc, {name->name});
  if (const char *module = stdlibModuleOf(name->name))
    diag.note(DiagId::note_stdlib_import, SourceLoc{}, {name->name, module});
  else
    noteSimilarNames(diag, name->name, false);
  return types.errorType();
}

const Type *Sema::checkMember(MemberExpr *member) {
  if (auto *n = dynCast<NameExpr>(member->base)) {
    bool captured;
    if (!lookupLocal(n->name, captured) && lookupTypeName(n->name, n->loc, false) &&
        !(currentStruct() && std::any_of(currentStruct()->fields.begin(),
                                         currentStruct()->fields.end(),
                                         [&](VarDecl *f) { return f->name == n->name; }))) {
      diags.report(DiagId::err_not_supported, member->memberLoc,
                   {"a static member used without a call"});
      return types.errorType();
    }
  }
  const Type *base = checkExpr(member->base, nullptr);
  if (base->isError())
    return base;
  if (auto *tt = asTuple(base)) {
    bool digits = !member->member.empty() &&
                  std::all_of(member->member.begin(), member->member.end(), ::isdigit);
    if (digits) {
      size_t index = std::stoul(member->member.size() > 9 ? "999999" : member->member);
      if (index < tt->elements.size()) {
        member->memberKind = MemberExpr::Kind::TupleElement;
        member->index = unsigned(index);
        return tt->elements[index];
      }
      diags.report(DiagId::err_tuple_index, member->memberLoc, {base->str(), member->member});
      return types.errorType();
    }
  }
  if (auto *st = asStruct(base)) {
    int index = st->fieldIndex(member->member);
    if (index >= 0) {
      member->memberKind = MemberExpr::Kind::Field;
      member->index = unsigned(index);
      return st->fields[index].type;
    }
    if (st->decl)
      for (FuncDecl *m : st->decl->methods)
        if (m->name == member->member) {
          diags.report(DiagId::err_not_supported, member->memberLoc,
                       {"a method used as a value"});
          return types.errorType();
        }
  }
  if (auto *tt = asTensor(base))
    if (const Type *t = checkTensorProperty(member, tt))
      return t;
  if (base->kind == TypeKind::Array && member->member == "count") {
    member->memberKind = MemberExpr::Kind::Property;
    member->builtin = int(Builtin::ArrayCount);
    return types.intType();
  }
  diags.report(DiagId::err_no_member, member->memberLoc, {base->str(), member->member});
  return types.errorType();
}

const Type *Sema::checkIndex(IndexExpr *index, const Type *expected) {
  const Type *base = checkExpr(index->base, nullptr);
  if (auto *tt = asTensor(base))
    return checkTensorIndex(index, tt, expected);
  for (Expr *i : index->indices) {
    if (auto *b = dynCast<BinaryExpr>(i);
        b && (b->op == BinaryOp::HalfOpenRange || b->op == BinaryOp::ClosedRange)) {
      diags.report(DiagId::err_not_supported, i->loc, {"indexing with a range"});
      return types.errorType();
    }
  }
  if (base->isError()) {
    for (Expr *i : index->indices)
      checkExpr(i, types.intType());
    return base;
  }
  auto *at = asArray(base);
  if (!at || index->indices.size() != 1) {
    diags.report(DiagId::err_not_indexable, index->loc, {base->str()});
    return types.errorType();
  }
  const Type *it = checkExpr(index->indices.front(), types.intType());
  if (!it->isError() && it->kind != TypeKind::Int)
    diags.report(DiagId::err_index_not_int, index->indices.front()->loc, {it->str()});
  return at->element;
}

const Type *Sema::checkUnary(UnaryExpr *unary, const Type *expected) {
  if (unary->op == '!') {
    const Type *t = checkExpr(unary->operand, types.boolType());
    if (t == types.tensorType(types.boolType()))
      return t;
    if (!t->isError() && t->kind != TypeKind::Bool) {
      diags.report(DiagId::err_unary_operand, unary->loc, {"!", t->str()});
      return types.errorType();
    }
    return t;
  }
  const Type *hint = expected && expected->isNumeric() ? expected : nullptr;
  const Type *t;
  if (auto *lit = dynCast<IntLitExpr>(unary->operand)) {
    t = checkIntLit(lit, hint, true);
    lit->type = t;
  } else {
    t = checkExpr(unary->operand, hint);
  }
  if (auto *tt = asTensor(t); tt && tt->element->isNumeric())
    return t;
  if (!t->isError() && !t->isNumeric()) {
    diags.report(DiagId::err_unary_operand, unary->loc, {"-", t->str()});
    return types.errorType();
  }
  return t;
}

const Type *Sema::checkBinary(BinaryExpr *binary, const Type *expected) {
  BinaryOp op = binary->op;
  const char *spelling = binaryOpSpelling(op);
  if (op == BinaryOp::HalfOpenRange || op == BinaryOp::ClosedRange) {
    diags.report(DiagId::err_range_context, binary->opLoc);
    checkExpr(binary->lhs, types.intType());
    checkExpr(binary->rhs, types.intType());
    return types.errorType();
  }
  if (op == BinaryOp::MatMul) {
    const Type *l = checkExpr(binary->lhs, expected);
    const Type *r = checkExpr(binary->rhs, l);
    if (l->isError() || r->isError())
      return types.errorType();
    if (l->kind != TypeKind::Tensor && r->kind != TypeKind::Tensor) {
      diags.report(DiagId::err_binary_operands, binary->opLoc, {spelling, l->str(), r->str()});
      return types.errorType();
    }
    return checkTensorBinary(binary, l, r);
  }
  if ((op == BinaryOp::And || op == BinaryOp::Or) && asTensor(expected)) {
    const Type *l = checkExpr(binary->lhs, expected);
    const Type *r = checkExpr(binary->rhs, l);
    if (l->isError() || r->isError())
      return types.errorType();
    return l->kind == TypeKind::Tensor || r->kind == TypeKind::Tensor
               ? checkTensorBinary(binary, l, r)
               : (diags.report(DiagId::err_binary_operands, binary->opLoc,
                               {spelling, l->str(), r->str()}),
                  types.errorType());
  }
  if (op == BinaryOp::And || op == BinaryOp::Or) {
    const Type *l = checkExpr(binary->lhs, types.boolType());
    const Type *r = checkExpr(binary->rhs, types.boolType());
    if (l->isError() || r->isError())
      return types.boolType();
    if (l->kind != TypeKind::Bool || r->kind != TypeKind::Bool)
      diags.report(DiagId::err_binary_operands, binary->opLoc, {spelling, l->str(), r->str()});
    return types.boolType();
  }
  const Type *hint = isArithmetic(op) && expected && expected->isNumeric() ? expected : nullptr;
  // A literal next to a tensor takes the tensor's element type.
  auto scalarHint = [&](const Type *t) {
    if (t->isNumeric())
      return t;
    if (auto *tt = asTensor(t))
      return tt->element;
    return hint;
  };
  const Type *l, *r;
  int lk = literalKind(binary->lhs), rk = literalKind(binary->rhs);
  if (lk && rk && !hint && (lk == 2 || rk == 2))
    hint = types.floatType(); // 1 + 0.5 is a Float
  if (lk && !rk) {
    r = checkExpr(binary->rhs, isArithmetic(op) && asTensor(expected) ? expected : hint);
    l = checkExpr(binary->lhs, scalarHint(r));
  } else {
    l = checkExpr(binary->lhs, isArithmetic(op) && asTensor(expected) ? expected : hint);
    // Next to a tensor, only a literal takes the element type from it (an
    // index expression must stay a tensor).
    r = checkExpr(binary->rhs, asTensor(l) && !rk ? nullptr : scalarHint(l));
  }
  if (l->isError() || r->isError())
    return isComparison(op) ? types.boolType() : types.errorType();
  if (l->kind == TypeKind::Tensor || r->kind == TypeKind::Tensor)
    return checkTensorBinary(binary, l, r);
  auto isTangent = [](const Type *t) { return asStruct(t) && asStruct(t)->tangentOf; };
  if (isArithmetic(op) && op != BinaryOp::Rem && (isTangent(l) || isTangent(r))) {
    // Tangent arithmetic (§5.2): T + T, T - T, T * T, T / T, and each of
    // them with a scalar s of the tangent's scalar type on either side, which
    // applies to every element (`sqrt(v) + 1e-8` in Adam).
    const Type *t = isTangent(l) ? l : r;
    const Type *scalar = types.tangentScalar(t);
    Expr *other = t == l ? binary->rhs : binary->lhs;
    const Type *ot = t == l ? r : l;
    if (ot != t && isLiteralLike(other))
      ot = checkExpr(other, scalar);
    bool scalarOk = ot == scalar;
    if (ot != t && !scalarOk) {
      diags.report(DiagId::err_tangent_operands, binary->opLoc,
                   {t->str(), l->str(), spelling, r->str()});
      return types.errorType();
    }
    binary->tangentArithmetic = true;
    return t;
  }
  bool ok = l == r;
  if (ok && isArithmetic(op))
    ok = op == BinaryOp::Rem ? l->kind == TypeKind::Int
                             : l->isNumeric() || (op == BinaryOp::Add && l->kind == TypeKind::String);
  if (ok && isComparison(op)) {
    bool equality = op == BinaryOp::Eq || op == BinaryOp::Ne;
    ok = l->isNumeric() || l->kind == TypeKind::String || (equality && l->kind == TypeKind::Bool);
  }
  if (!ok) {
    diags.report(DiagId::err_binary_operands, binary->opLoc, {spelling, l->str(), r->str()});
    return isComparison(op) ? types.boolType() : types.errorType();
  }
  return isComparison(op) ? types.boolType() : l;
}

const Type *Sema::checkTernary(TernaryExpr *ternary, const Type *expected) {
  const Type *c = checkExpr(ternary->cond, types.boolType());
  if (!c->isError() && c->kind != TypeKind::Bool)
    diags.report(DiagId::err_condition_not_bool, ternary->cond->loc, {c->str()});
  const Type *a, *b;
  if (isLiteralLike(ternary->thenExpr) && !isLiteralLike(ternary->elseExpr)) {
    b = checkExpr(ternary->elseExpr, expected);
    a = checkExpr(ternary->thenExpr, b);
  } else {
    a = checkExpr(ternary->thenExpr, expected);
    b = checkExpr(ternary->elseExpr, a->isError() ? expected : a);
  }
  if (a->isError() || b->isError())
    return types.errorType();
  if (a != b) {
    diags.report(DiagId::err_branch_mismatch, ternary->loc, {a->str(), b->str()});
    return types.errorType();
  }
  return a;
}

const Type *Sema::checkArrayLit(ArrayLitExpr *array, const Type *expected) {
  const Type *element = nullptr;
  Expr *decider = nullptr; // the element whose type decided the array's
  if (auto *at = asArray(expected))
    element = at->element;
  if (!element) {
    int kind = 0;
    for (Expr *e : array->elements) {
      int k = literalKind(e);
      if (!k) {
        element = checkExpr(e, nullptr);
        decider = e;
        break;
      }
      kind = std::max(kind, k);
    }
    if (!element && kind)
      element = kind == 2 ? types.floatType() : types.intType();
  }
  if (!element) {
    diags.report(DiagId::err_cannot_infer, array->loc, {"an empty array literal"});
    return types.errorType();
  }
  for (Expr *e : array->elements) {
    const Type *t = e->type && !isLiteralLike(e) ? e->type : checkExpr(e, element);
    if (t != element && !t->isError() && !element->isError()) {
      // Name the types in source order.
      bool before = decider && e->loc.line * 100000 + e->loc.col <
                                   decider->loc.line * 100000 + decider->loc.col;
      diags.report(DiagId::err_array_literal_mixed, e->loc,
                   before ? std::vector<std::string>{t->str(), element->str()}
                          : std::vector<std::string>{element->str(), t->str()});
      return types.errorType();
    }
  }
  return types.arrayType(element);
}

const Type *Sema::checkLambda(LambdaExpr *lambda, const Type *expected) {
  auto *ft = asFunction(expected);
  if (ft && ft->params.size() != lambda->params.size())
    ft = nullptr;
  std::vector<const Type *> params;
  for (size_t i = 0; i < lambda->params.size(); ++i) {
    ParamDecl *p = lambda->params[i];
    if (p->isInout)
      diags.report(DiagId::err_function_type_inout, p->loc);
    if (p->typeRepr)
      p->type = resolveType(p->typeRepr, currentStruct());
    else if (ft)
      p->type = ft->params[i];
    else {
      diags.report(DiagId::err_cannot_infer, p->loc, {"parameter '" + p->name + "'"});
      p->type = types.errorType();
    }
    params.push_back(p->type);
  }
  const Type *result = nullptr; // null: inferred from the body's returns
  if (lambda->resultRepr)
    result = resolveType(lambda->resultRepr, currentStruct());
  else if (ft)
    result = ft->result;
  FuncContext ctx;
  ctx.lambda = lambda;
  ctx.resultType = result;
  ctx.scopeBase = scopes.size();
  funcs.push_back(ctx);
  pushScope();
  for (ParamDecl *p : lambda->params)
    declareLocal(p);
  if (result && !result->isUnit() && !lambda->expressionBody)
    makeImplicitReturn(lambda->body);
  checkBlock(lambda->body);
  result = fn().resultType ? fn().resultType : types.unitType();
  if (!result->isUnit() && !result->isError() && !blockAlwaysExits(lambda->body))
    diags.report(DiagId::err_missing_return, lambda->body->endLoc.isValid() ? lambda->body->endLoc
                                                                            : lambda->loc,
                 {result->str()});
  popScope();
  funcs.pop_back();
  lambda->resultType = result;
  return types.functionType(params, result);
}

std::string Sema::lvalueRootName(Expr *expr) const {
  while (true) {
    if (auto *n = dynCast<NameExpr>(expr))
      return n->name;
    if (isa<SelfExpr>(expr))
      return "self";
    if (auto *m = dynCast<MemberExpr>(expr))
      expr = m->base;
    else if (auto *i = dynCast<IndexExpr>(expr))
      expr = i->base;
    else if (auto *p = dynCast<ParenExpr>(expr))
      expr = p->inner;
    else
      return "";
  }
}

const Type *Sema::checkLValue(Expr *expr, LValueUse use, const std::string &methodName) {
  // A receiver may already be checked as a value (to find its methods);
  // checking it again would report its errors twice.
  const Type *type = expr->type ? expr->type : checkExpr(expr, nullptr);
  if (type->isError())
    return type;
  auto immutable = [&](const std::string &name) {
    if (use == LValueUse::MutatingCall)
      diags.report(DiagId::err_mutating_on_immutable, expr->loc, {methodName, name});
    else if (use == LValueUse::Inout)
      diags.report(DiagId::err_inout_not_mutable, expr->loc, {name});
    else
      diags.report(DiagId::err_assign_to_let, expr->loc, {name});
    return types.errorType();
  };
  auto isCaptured = [&](Decl *d) {
    for (auto it = funcs.rbegin(); it != funcs.rend() && it->lambda; ++it) {
      auto &caps = it->lambda->captures;
      if (std::find(caps.begin(), caps.end(), d) != caps.end())
        return true;
    }
    return false;
  };
  auto selfMutable = [&]() -> bool {
    bool captured;
    Decl *self = lookupLocal("self", captured);
    if (!self)
      return false;
    if (isCaptured(self)) {
      diags.report(DiagId::err_assign_to_capture, expr->loc, {"self"});
      return false;
    }
    if (!fn().isMutating) {
      if (use == LValueUse::MutatingCall)
        diags.report(DiagId::err_mutating_on_immutable, expr->loc, {methodName, "self"});
      else
        diags.report(DiagId::err_assign_to_self, expr->loc);
      return false;
    }
    return true;
  };
  Expr *e = expr;
  while (true) {
    if (auto *p = dynCast<ParenExpr>(e)) {
      e = p->inner;
      continue;
    }
    if (auto *n = dynCast<NameExpr>(e)) {
      switch (n->ref) {
      case NameExpr::Ref::Local: {
        auto *v = cast<VarDecl>(n->decl);
        if (isCaptured(v)) {
          diags.report(DiagId::err_assign_to_capture, expr->loc, {v->name});
          return types.errorType();
        }
        if (!v->isMutable)
          return immutable(v->name);
        return type;
      }
      case NameExpr::Ref::Param: {
        auto *p = cast<ParamDecl>(n->decl);
        if (isCaptured(p)) {
          diags.report(DiagId::err_assign_to_capture, expr->loc, {p->name});
          return types.errorType();
        }
        if (!p->isInout)
          return immutable(p->name);
        return type;
      }
      case NameExpr::Ref::Field: {
        auto *f = cast<VarDecl>(n->decl);
        if (!selfMutable())
          return types.errorType();
        if (!f->isMutable && !fn().isInit)
          return immutable(f->name);
        return type;
      }
      default:
        diags.report(DiagId::err_assign_not_lvalue, expr->loc);
        return types.errorType();
      }
    }
    if (isa<SelfExpr>(e))
      return selfMutable() ? type : types.errorType();
    if (auto *m = dynCast<MemberExpr>(e)) {
      if (m->memberKind == MemberExpr::Kind::Field) {
        auto *st = asStruct(m->base->type);
        if (st && st->decl && !st->decl->fields[m->index]->isMutable &&
            !(fn().isInit && isa<SelfExpr>(m->base)))
          return immutable(m->member);
        e = m->base;
        continue;
      }
      if (m->memberKind == MemberExpr::Kind::TupleElement) {
        e = m->base;
        continue;
      }
      diags.report(DiagId::err_assign_not_lvalue, expr->loc);
      return types.errorType();
    }
    if (auto *i = dynCast<IndexExpr>(e)) {
      if (i->base->type && i->base->type->kind == TypeKind::Tensor) {
        diags.report(DiagId::err_not_supported, i->loc,
                     {"writing into a tensor element (tensors are values: build a new one, e.g. with 'where')"});
        return types.errorType();
      }
      e = i->base;
      continue;
    }
    diags.report(DiagId::err_assign_not_lvalue, expr->loc);
    return types.errorType();
  }
}

} // namespace dlc::sema
