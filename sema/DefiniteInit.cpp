// Definite initialization: a `var` declared without a value must be assigned
// before it is read, and an `init` must set every field on every path before
// it returns or uses `self`. Runs on a function after it type-checks.
#include "sema/SemaImpl.h"

#include <set>

namespace dlc::sema {

namespace {

class DefiniteInit {
public:
  DefiniteInit(DiagEngine &diags, FuncDecl *f) : diags(diags), func(f) {
    if (f->funcKind == FuncDecl::Kind::Init && f->parent)
      for (VarDecl *field : f->parent->fields)
        fields.insert(field);
  }

  void run() {
    State state;
    visitBlock(func->body, state);
    if (!state.unreachable)
      checkAllFields(state, func->nameLoc);
  }

private:
  struct State {
    std::set<const Decl *> initialized;
    bool unreachable = false;
  };

  static State merge(const State &a, const State &b) {
    if (a.unreachable)
      return b;
    if (b.unreachable)
      return a;
    State s;
    for (const Decl *d : a.initialized)
      if (b.initialized.count(d))
        s.initialized.insert(d);
    return s;
  }

  void checkAllFields(const State &state, SourceLoc loc) {
    for (VarDecl *field : func->parent ? func->parent->fields : std::vector<VarDecl *>{})
      if (fields.count(field) && !state.initialized.count(field) && reported.insert(field).second)
        diags.report(DiagId::err_field_not_initialized, loc, {field->name});
  }

  void requireWholeSelf(const State &state, SourceLoc loc) {
    for (VarDecl *field : func->parent ? func->parent->fields : std::vector<VarDecl *>{})
      if (fields.count(field) && !state.initialized.count(field)) {
        if (reported.insert(field).second)
          diags.report(DiagId::err_field_used_before_init, loc, {field->name});
        return;
      }
  }

  void read(const Decl *d, SourceLoc loc, const State &state) {
    if (state.unreachable || state.initialized.count(d))
      return;
    if (slots.count(d)) {
      if (reported.insert(d).second)
        diags.report(DiagId::err_var_never_initialized, loc, {d->name});
    } else if (fields.count(d)) {
      if (reported.insert(d).second)
        diags.report(DiagId::err_field_used_before_init, loc, {d->name});
    }
  }

  /// The slot an assignment target writes as a whole, or null.
  const Decl *wholeTarget(Expr *e) {
    while (auto *p = dynCast<ParenExpr>(e))
      e = p->inner;
    if (auto *n = dynCast<NameExpr>(e))
      if (n->ref == NameExpr::Ref::Local || n->ref == NameExpr::Ref::Field)
        return n->decl;
    if (auto *m = dynCast<MemberExpr>(e))
      if (m->memberKind == MemberExpr::Kind::Field && isa<SelfExpr>(m->base) && func->parent &&
          m->index < func->parent->fields.size())
        return func->parent->fields[m->index];
    return nullptr;
  }

  void visitBlock(BlockStmt *block, State &state) {
    for (Stmt *s : block->stmts)
      visitStmt(s, state);
  }

  void visitStmt(Stmt *stmt, State &state) {
    switch (stmt->kind) {
    case NodeKind::BlockStmt:
      visitBlock(cast<BlockStmt>(stmt), state);
      return;
    case NodeKind::LetStmt: {
      auto *let = cast<LetStmt>(stmt);
      if (let->init) {
        visitExpr(let->init, state);
        return;
      }
      if (auto *ip = dynCast<IdentPattern>(let->pattern))
        slots.insert(ip->var);
      return;
    }
    case NodeKind::ExprStmt: {
      Expr *e = cast<ExprStmt>(stmt)->expr;
      visitExpr(e, state);
      auto *call = dynCast<CallExpr>(e);
      if (call && call->callKind == CallExpr::Kind::Builtin && call->builtin == int(Builtin::Exit))
        state.unreachable = true;
      return;
    }
    case NodeKind::AssignStmt: {
      auto *a = cast<AssignStmt>(stmt);
      visitExpr(a->value, state);
      const Decl *whole = a->op == '=' ? wholeTarget(a->target) : nullptr;
      if (whole) {
        state.initialized.insert(whole);
        return;
      }
      visitExpr(a->target, state);
      return;
    }
    case NodeKind::IfStmt: {
      auto *s = cast<IfStmt>(stmt);
      visitExpr(s->cond, state);
      State thenState = state, elseState = state;
      visitBlock(s->thenBlock, thenState);
      if (s->elseStmt)
        visitStmt(s->elseStmt, elseState);
      state = merge(thenState, elseState);
      return;
    }
    case NodeKind::WhileStmt: {
      auto *s = cast<WhileStmt>(stmt);
      visitExpr(s->cond, state);
      State body = state;
      visitBlock(s->body, body);
      return; // the body may run zero times
    }
    case NodeKind::ForInStmt: {
      auto *s = cast<ForInStmt>(stmt);
      visitExpr(s->sequence, state);
      State body = state;
      visitBlock(s->body, body);
      return;
    }
    case NodeKind::ReturnStmt: {
      auto *r = cast<ReturnStmt>(stmt);
      if (r->value)
        visitExpr(r->value, state);
      if (!state.unreachable && func->funcKind == FuncDecl::Kind::Init)
        checkAllFields(state, r->loc);
      state.unreachable = true;
      return;
    }
    case NodeKind::BreakStmt:
    case NodeKind::ContinueStmt:
      state.unreachable = true;
      return;
    default:
      return;
    }
  }

  void visitExpr(Expr *e, State &state) {
    if (!e)
      return;
    switch (e->kind) {
    case NodeKind::NameExpr: {
      auto *n = cast<NameExpr>(e);
      if (n->decl)
        read(n->decl, n->loc, state);
      return;
    }
    case NodeKind::SelfExpr:
      requireWholeSelf(state, e->loc);
      return;
    case NodeKind::ParenExpr:
      visitExpr(cast<ParenExpr>(e)->inner, state);
      return;
    case NodeKind::TupleExpr:
      for (Expr *x : cast<TupleExpr>(e)->elements)
        visitExpr(x, state);
      return;
    case NodeKind::ArrayLitExpr:
      for (Expr *x : cast<ArrayLitExpr>(e)->elements)
        visitExpr(x, state);
      return;
    case NodeKind::CallExpr: {
      auto *c = cast<CallExpr>(e);
      bool implicitSelf = (c->callKind == CallExpr::Kind::Method && !c->receiver);
      if (implicitSelf)
        requireWholeSelf(state, c->loc);
      else if (c->receiver)
        visitExpr(c->receiver, state);
      if (c->callKind == CallExpr::Kind::Closure || c->callKind == CallExpr::Kind::Unresolved)
        visitExpr(c->callee, state);
      for (Argument &a : c->args)
        visitExpr(a.value, state);
      return;
    }
    case NodeKind::MemberExpr: {
      auto *m = cast<MemberExpr>(e);
      if (m->memberKind == MemberExpr::Kind::Field && isa<SelfExpr>(m->base) && func->parent &&
          m->index < func->parent->fields.size()) {
        read(func->parent->fields[m->index], m->memberLoc, state);
        return;
      }
      visitExpr(m->base, state);
      return;
    }
    case NodeKind::IndexExpr: {
      auto *ix = cast<IndexExpr>(e);
      visitExpr(ix->base, state);
      for (Expr *x : ix->indices)
        visitExpr(x, state);
      return;
    }
    case NodeKind::UnaryExpr:
      visitExpr(cast<UnaryExpr>(e)->operand, state);
      return;
    case NodeKind::BinaryExpr: {
      auto *b = cast<BinaryExpr>(e);
      visitExpr(b->lhs, state);
      if (b->op == BinaryOp::And || b->op == BinaryOp::Or) {
        State rhs = state;
        visitExpr(b->rhs, rhs);
        return;
      }
      visitExpr(b->rhs, state);
      return;
    }
    case NodeKind::TernaryExpr: {
      auto *t = cast<TernaryExpr>(e);
      visitExpr(t->cond, state);
      State a = state, b = state;
      visitExpr(t->thenExpr, a);
      visitExpr(t->elseExpr, b);
      state = merge(a, b);
      return;
    }
    case NodeKind::LambdaExpr:
      for (Decl *d : cast<LambdaExpr>(e)->captures) {
        if (auto *p = dynCast<ParamDecl>(d); p && p->isSelf)
          requireWholeSelf(state, e->loc);
        else
          read(d, e->loc, state);
      }
      return;
    case NodeKind::InOutExpr:
      visitExpr(cast<InOutExpr>(e)->operand, state);
      return;
    default:
      return;
    }
  }

  DiagEngine &diags;
  FuncDecl *func;
  std::set<const Decl *> slots;  // vars declared without a value
  std::set<const Decl *> fields; // fields of the struct an init builds
  std::set<const Decl *> reported;
};

} // namespace

void Sema::checkDefiniteInit(FuncDecl *f) {
  if (f->body)
    DefiniteInit(diags, f).run();
}

} // namespace dlc::sema
