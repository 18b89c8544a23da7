// Statement checking: bindings and patterns, assignments, control flow,
// returns, and the "always exits" analysis behind missing-return errors.
#include "sema/SemaImpl.h"

#include "frontend/Assert.h"

namespace dlc::sema {

void Sema::makeImplicitReturn(BlockStmt *body) {
  // `fn cube(x: Float) -> Float { x * x * x }`: a body that is one expression returns it.
  if (body->stmts.size() != 1)
    return;
  auto *es = dynCast<ExprStmt>(body->stmts.front());
  if (!es)
    return;
  auto *ret = program.context.make<ReturnStmt>(es->loc);
  ret->value = es->expr;
  ret->implicit = true;
  body->stmts.front() = ret;
}

void Sema::checkBlock(BlockStmt *block) {
  pushScope();
  const char *exitedBy = nullptr;
  bool warned = false;
  for (Stmt *s : block->stmts) {
    if (exitedBy && !warned) {
      diags.report(DiagId::warn_unreachable_code, s->loc, {exitedBy});
      warned = true;
    }
    checkStmt(s);
    if (exitedBy)
      continue;
    if (isa<ReturnStmt>(s) && !cast<ReturnStmt>(s)->implicit)
      exitedBy = "return";
    else if (isa<BreakStmt>(s))
      exitedBy = "break";
    else if (isa<ContinueStmt>(s))
      exitedBy = "continue";
  }
  popScope();
}

void Sema::checkStmt(Stmt *stmt) {
  switch (stmt->kind) {
  case NodeKind::BlockStmt:
    checkBlock(cast<BlockStmt>(stmt));
    return;
  case NodeKind::LetStmt:
    checkLet(cast<LetStmt>(stmt));
    return;
  case NodeKind::ExprStmt: {
    auto *es = cast<ExprStmt>(stmt);
    const Type *t = checkExpr(es->expr, nullptr);
    auto *call = dynCast<CallExpr>(es->expr);
    if (call && !t->isUnit() && !t->isError() && call->callKind != CallExpr::Kind::Builtin) {
      std::string name = "call";
      if (auto *n = dynCast<NameExpr>(call->callee))
        name = n->name;
      else if (auto *m = dynCast<MemberExpr>(call->callee))
        name = m->member;
      diags.report(DiagId::warn_unused_result, es->loc, {name});
    }
    return;
  }
  case NodeKind::AssignStmt:
    checkAssign(cast<AssignStmt>(stmt));
    return;
  case NodeKind::IfStmt: {
    auto *s = cast<IfStmt>(stmt);
    const Type *c = checkExpr(s->cond, types.boolType());
    if (!c->isError() && c->kind != TypeKind::Bool)
      diags.report(DiagId::err_condition_not_bool, s->cond->loc, {c->str()});
    checkBlock(s->thenBlock);
    if (s->elseStmt)
      checkStmt(s->elseStmt);
    return;
  }
  case NodeKind::WhileStmt: {
    auto *s = cast<WhileStmt>(stmt);
    const Type *c = checkExpr(s->cond, types.boolType());
    if (!c->isError() && c->kind != TypeKind::Bool)
      diags.report(DiagId::err_condition_not_bool, s->cond->loc, {c->str()});
    ++fn().loopDepth;
    checkBlock(s->body);
    --fn().loopDepth;
    return;
  }
  case NodeKind::ForInStmt:
    checkFor(cast<ForInStmt>(stmt));
    return;
  case NodeKind::ReturnStmt:
    checkReturn(cast<ReturnStmt>(stmt));
    return;
  case NodeKind::BreakStmt:
    if (fn().loopDepth == 0)
      diags.report(DiagId::err_break_outside_loop, stmt->loc, {"break"});
    return;
  case NodeKind::ContinueStmt:
    if (fn().loopDepth == 0)
      diags.report(DiagId::err_break_outside_loop, stmt->loc, {"continue"});
    return;
  default:
    DLC_UNREACHABLE("not a statement");
  }
}

void Sema::checkLet(LetStmt *let) {
  const Type *annotated = let->typeRepr ? resolveType(let->typeRepr, currentStruct()) : nullptr;
  const Type *t = annotated;
  if (let->init) {
    t = annotated ? checkExprAs(let->init, annotated) : checkExpr(let->init, nullptr);
    if (!annotated)
      requireValue(let->init, t);
    if (annotated)
      t = annotated;
  } else if (!annotated) {
    std::string what = "this variable";
    if (auto *ip = dynCast<IdentPattern>(let->pattern))
      what = "'" + ip->var->name + "'";
    diags.report(DiagId::err_cannot_infer, let->loc, {what + " without a type or initial value"});
    t = types.errorType();
  } else if (!let->isMutable) {
    // `let x: Int` without a value: allowed (definite initialization applies),
    // but assignments must then go through the same checks as `var`.
  }
  bindPattern(let->pattern, t, let->isMutable || !let->init, let->loc);
  if (auto *ip = dynCast<IdentPattern>(let->pattern))
    if (!let->isMutable && let->init && isStaticFunction(let->init))
      staticFunctionLets.insert(ip->var);
}

void Sema::bindPattern(Pattern *pattern, const Type *type, bool isMutable, SourceLoc loc) {
  switch (pattern->kind) {
  case NodeKind::IdentPattern: {
    VarDecl *v = cast<IdentPattern>(pattern)->var;
    v->type = type;
    v->isMutable = v->isMutable || isMutable;
    declareLocal(v);
    return;
  }
  case NodeKind::WildcardPattern:
    return;
  case NodeKind::TuplePattern: {
    auto *tp = cast<TuplePattern>(pattern);
    auto *tt = asTuple(type);
    if (!type->isError() && (!tt || tt->elements.size() != tp->elements.size()))
      diags.report(DiagId::err_pattern_mismatch, pattern->loc,
                   {type->str(), std::to_string(tp->elements.size())});
    for (size_t i = 0; i < tp->elements.size(); ++i) {
      const Type *et = tt && i < tt->elements.size() ? tt->elements[i] : types.errorType();
      bindPattern(tp->elements[i], et, isMutable, loc);
    }
    return;
  }
  default:
    DLC_UNREACHABLE("not a pattern");
  }
}

void Sema::checkAssign(AssignStmt *assign) {
  const Type *target = checkLValue(assign->target, LValueUse::Assign, "");
  if (assign->op == '=') {
    checkExprAs(assign->value, target);
    return;
  }
  const Type *value = checkExpr(assign->value, asTensor(target) && isLiteralLike(assign->value)
                                                   ? asTensor(target)->element
                                                   : target);
  if (target->isError() || value->isError())
    return;
  std::string op(1, assign->op);
  if (auto *tt = asTensor(target)) {
    // x += y on tensors: y a tensor of x's type or a scalar of its element
    // type, and the result must keep x's type.
    bool fits = (value == tt || value == tt->element) && tt->element->isNumeric();
    if (!fits)
      diags.report(DiagId::err_tensor_operands, assign->opLoc, {op + "=", target->str(), value->str()});
    return;
  }
  bool ok = target == value && (target->isNumeric() || (op == "+" && target->kind == TypeKind::String));
  if (!ok)
    diags.report(DiagId::err_binary_operands, assign->opLoc,
                 {op + "=", target->str(), value->str()});
}

void Sema::checkFor(ForInStmt *loop) {
  const Type *element = types.errorType();
  auto *range = dynCast<BinaryExpr>(loop->sequence);
  if (range && (range->op == BinaryOp::HalfOpenRange || range->op == BinaryOp::ClosedRange)) {
    const Type *lo = checkExpr(range->lhs, types.intType());
    const Type *hi = checkExpr(range->rhs, types.intType());
    for (auto [e, t] : {std::pair{range->lhs, lo}, std::pair{range->rhs, hi}})
      if (!t->isError() && t->kind != TypeKind::Int)
        diags.report(DiagId::err_type_mismatch, e->loc, {t->str(), "Int"});
    range->type = types.intType(); // the element type; ranges are not values
    element = types.intType();
  } else {
    const Type *seq = checkExpr(loop->sequence, nullptr);
    auto *st = asStruct(seq);
    if (auto *at = asArray(seq)) {
      element = at->element;
    } else if (st && st->decl && st->fieldIndex("count") >= 0 &&
               st->fields[size_t(st->fieldIndex("count"))].type == types.intType()) {
      // A struct with `count: Int` and `fn at(_ i: Int) -> E` is a sequence
      // of E (data.Batches is one): docs/DECISIONS.md.
      FuncDecl *at = nullptr;
      for (FuncDecl *m : methodsNamed(st->decl, "at", false))
        if (auto *ft = asFunction(m->type);
            ft && ft->params.size() == 1 && ft->params[0] == types.intType() && !m->isMutating)
          at = m;
      if (at) {
        loop->elementMethod = at;
        loop->countField = unsigned(st->fieldIndex("count"));
        element = at->resultType;
      } else {
        diags.report(DiagId::err_not_iterable, loop->sequence->loc, {seq->str()});
      }
    } else if (!seq->isError())
      diags.report(DiagId::err_not_iterable, loop->sequence->loc, {seq->str()});
  }
  pushScope();
  bindPattern(loop->pattern, element, false, loop->loc);
  ++fn().loopDepth;
  checkBlock(loop->body);
  --fn().loopDepth;
  popScope();
}

void Sema::checkReturn(ReturnStmt *ret) {
  const Type *expected = fn().resultType;
  if (!expected) {
    // A lambda without a written or expected result type: the first return decides.
    const Type *t = ret->value ? checkExpr(ret->value, nullptr) : types.unitType();
    if (ret->value)
      requireValue(ret->value, t);
    fn().resultType = t;
    return;
  }
  if (!ret->value) {
    if (!expected->isUnit() && !expected->isError())
      diags.report(DiagId::err_return_missing_value, ret->loc, {expected->str()});
    return;
  }
  if (expected->isUnit()) {
    // `return f()` where f returns () is fine; any other value is not.
    const Type *t = checkExpr(ret->value, nullptr);
    if (!t->isUnit() && !t->isError())
      diags.report(DiagId::err_return_value_in_void, ret->value->loc);
    return;
  }
  checkExprAs(ret->value, expected);
}

bool Sema::blockAlwaysExits(const BlockStmt *block) const {
  for (const Stmt *s : block->stmts)
    if (stmtAlwaysExits(s))
      return true;
  return false;
}

namespace {
bool containsBreak(const Stmt *s) {
  if (!s)
    return false;
  switch (s->kind) {
  case NodeKind::BreakStmt:
    return true;
  case NodeKind::BlockStmt:
    for (const Stmt *c : cast<BlockStmt>(s)->stmts)
      if (containsBreak(c))
        return true;
    return false;
  case NodeKind::IfStmt:
    return containsBreak(cast<IfStmt>(s)->thenBlock) || containsBreak(cast<IfStmt>(s)->elseStmt);
  default:
    return false; // nested loops own their breaks
  }
}
} // namespace

bool Sema::stmtAlwaysExits(const Stmt *s) const {
  switch (s->kind) {
  case NodeKind::ReturnStmt:
    return true;
  case NodeKind::BlockStmt:
    return blockAlwaysExits(cast<BlockStmt>(s));
  case NodeKind::IfStmt: {
    auto *is = cast<IfStmt>(s);
    return is->elseStmt && blockAlwaysExits(is->thenBlock) && stmtAlwaysExits(is->elseStmt);
  }
  case NodeKind::WhileStmt: {
    // `while true { ... }` without a break never falls through.
    auto *ws = cast<WhileStmt>(s);
    auto *lit = dynCast<BoolLitExpr>(ws->cond);
    return lit && lit->value && !containsBreak(ws->body);
  }
  case NodeKind::ExprStmt: {
    auto *call = dynCast<CallExpr>(cast<ExprStmt>(s)->expr);
    return call && call->callKind == CallExpr::Kind::Builtin &&
           call->builtin == int(Builtin::Exit);
  }
  default:
    return false;
  }
}

} // namespace dlc::sema
