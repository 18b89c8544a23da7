// Deep copies of declarations for monomorphization (sema/Generics.cpp).
//
// Sema annotates the AST in place, so each instance of a generic function or
// struct needs its own copy of the declaration. Copies are made from the
// declaration as the parser built it: generic declarations are never checked
// themselves, so they carry no annotations, and none are copied here.
#include "frontend/AST.h"

#include "frontend/Assert.h"

namespace dlc::ast {

namespace {

class Cloner {
public:
  explicit Cloner(ASTContext &context) : context(context) {}

  template <class T> std::vector<T *> all(const std::vector<T *> &nodes) {
    std::vector<T *> out;
    out.reserve(nodes.size());
    for (T *n : nodes)
      out.push_back(clone(n));
    return out;
  }

  TypeRepr *clone(const TypeRepr *t) {
    if (!t)
      return nullptr;
    switch (t->kind) {
    case NodeKind::NamedTypeRepr: {
      auto *from = cast<NamedTypeRepr>(t);
      auto *to = context.make<NamedTypeRepr>(t->loc);
      for (const auto &c : from->components)
        to->components.push_back({c.name, c.loc, all(c.genericArgs)});
      return to;
    }
    case NodeKind::TupleTypeRepr: {
      auto *to = context.make<TupleTypeRepr>(t->loc);
      to->elements = all(cast<TupleTypeRepr>(t)->elements);
      return to;
    }
    case NodeKind::ArrayTypeRepr: {
      auto *to = context.make<ArrayTypeRepr>(t->loc);
      to->element = clone(cast<ArrayTypeRepr>(t)->element);
      return to;
    }
    case NodeKind::FunctionTypeRepr: {
      auto *from = cast<FunctionTypeRepr>(t);
      auto *to = context.make<FunctionTypeRepr>(t->loc);
      to->params = all(from->params);
      to->paramInout = from->paramInout;
      to->result = clone(from->result);
      return to;
    }
    case NodeKind::ShapedTypeRepr: {
      auto *from = cast<ShapedTypeRepr>(t);
      auto *to = context.make<ShapedTypeRepr>(t->loc);
      to->base = clone(from->base);
      to->dims = from->dims;
      return to;
    }
    default:
      DLC_UNREACHABLE("not a type repr");
    }
  }

  void copyDeclBase(const Decl *from, Decl *to) {
    to->name = from->name;
    to->nameLoc = from->nameLoc;
    to->attributes = from->attributes;
  }

  GenericParamDecl *clone(const GenericParamDecl *g) {
    auto *to = context.make<GenericParamDecl>(g->loc);
    copyDeclBase(g, to);
    to->bounds = all(g->bounds);
    return to;
  }

  ParamDecl *clone(const ParamDecl *p) {
    if (!p)
      return nullptr;
    auto *to = context.make<ParamDecl>(p->loc);
    copyDeclBase(p, to);
    to->label = p->label;
    to->typeRepr = clone(p->typeRepr);
    to->isInout = p->isInout;
    to->isSelf = p->isSelf;
    return to;
  }

  VarDecl *clone(const VarDecl *v) {
    if (!v)
      return nullptr;
    auto *to = context.make<VarDecl>(v->loc);
    copyDeclBase(v, to);
    to->isMutable = v->isMutable;
    to->isField = v->isField;
    to->typeRepr = clone(v->typeRepr);
    to->init = clone(v->init);
    return to;
  }

  Pattern *clone(const Pattern *p) {
    if (!p)
      return nullptr;
    switch (p->kind) {
    case NodeKind::IdentPattern: {
      auto *to = context.make<IdentPattern>(p->loc);
      to->var = clone(cast<IdentPattern>(p)->var);
      return to;
    }
    case NodeKind::TuplePattern: {
      auto *to = context.make<TuplePattern>(p->loc);
      to->elements = all(cast<TuplePattern>(p)->elements);
      return to;
    }
    case NodeKind::WildcardPattern:
      return context.make<WildcardPattern>(p->loc);
    default:
      DLC_UNREACHABLE("not a pattern");
    }
  }

  BlockStmt *clone(const BlockStmt *b) {
    if (!b)
      return nullptr;
    auto *to = context.make<BlockStmt>(b->loc);
    to->stmts = all(b->stmts);
    to->endLoc = b->endLoc;
    return to;
  }

  Stmt *clone(const Stmt *s) {
    if (!s)
      return nullptr;
    switch (s->kind) {
    case NodeKind::BlockStmt:
      return clone(cast<BlockStmt>(s));
    case NodeKind::LetStmt: {
      auto *from = cast<LetStmt>(s);
      auto *to = context.make<LetStmt>(s->loc);
      to->isMutable = from->isMutable;
      to->pattern = clone(from->pattern);
      to->typeRepr = clone(from->typeRepr);
      to->init = clone(from->init);
      return to;
    }
    case NodeKind::ExprStmt: {
      auto *to = context.make<ExprStmt>(s->loc);
      to->expr = clone(cast<ExprStmt>(s)->expr);
      return to;
    }
    case NodeKind::AssignStmt: {
      auto *from = cast<AssignStmt>(s);
      auto *to = context.make<AssignStmt>(s->loc);
      to->op = from->op;
      to->opLoc = from->opLoc;
      to->target = clone(from->target);
      to->value = clone(from->value);
      return to;
    }
    case NodeKind::IfStmt: {
      auto *from = cast<IfStmt>(s);
      auto *to = context.make<IfStmt>(s->loc);
      to->cond = clone(from->cond);
      to->thenBlock = clone(from->thenBlock);
      to->elseStmt = clone(from->elseStmt);
      return to;
    }
    case NodeKind::WhileStmt: {
      auto *from = cast<WhileStmt>(s);
      auto *to = context.make<WhileStmt>(s->loc);
      to->cond = clone(from->cond);
      to->body = clone(from->body);
      return to;
    }
    case NodeKind::ForInStmt: {
      auto *from = cast<ForInStmt>(s);
      auto *to = context.make<ForInStmt>(s->loc);
      to->pattern = clone(from->pattern);
      to->sequence = clone(from->sequence);
      to->body = clone(from->body);
      return to;
    }
    case NodeKind::ReturnStmt: {
      auto *from = cast<ReturnStmt>(s);
      auto *to = context.make<ReturnStmt>(s->loc);
      to->value = clone(from->value);
      to->implicit = from->implicit;
      return to;
    }
    case NodeKind::BreakStmt:
      return context.make<BreakStmt>(s->loc);
    case NodeKind::ContinueStmt:
      return context.make<ContinueStmt>(s->loc);
    default:
      DLC_UNREACHABLE("not a statement");
    }
  }

  Expr *clone(const Expr *e) {
    if (!e)
      return nullptr;
    switch (e->kind) {
    case NodeKind::IntLitExpr: {
      auto *from = cast<IntLitExpr>(e);
      auto *to = context.make<IntLitExpr>(e->loc);
      to->text = from->text;
      to->value = from->value;
      return to;
    }
    case NodeKind::FloatLitExpr: {
      auto *from = cast<FloatLitExpr>(e);
      auto *to = context.make<FloatLitExpr>(e->loc);
      to->text = from->text;
      to->value = from->value;
      return to;
    }
    case NodeKind::BoolLitExpr: {
      auto *to = context.make<BoolLitExpr>(e->loc);
      to->value = cast<BoolLitExpr>(e)->value;
      return to;
    }
    case NodeKind::StringLitExpr: {
      auto *to = context.make<StringLitExpr>(e->loc);
      to->value = cast<StringLitExpr>(e)->value;
      return to;
    }
    case NodeKind::NameExpr: {
      auto *from = cast<NameExpr>(e);
      auto *to = context.make<NameExpr>(e->loc);
      to->name = from->name;
      to->genericArgs = all(from->genericArgs);
      return to;
    }
    case NodeKind::SelfExpr:
      return context.make<SelfExpr>(e->loc);
    case NodeKind::ParenExpr: {
      auto *to = context.make<ParenExpr>(e->loc);
      to->inner = clone(cast<ParenExpr>(e)->inner);
      return to;
    }
    case NodeKind::TupleExpr: {
      auto *to = context.make<TupleExpr>(e->loc);
      to->elements = all(cast<TupleExpr>(e)->elements);
      return to;
    }
    case NodeKind::ArrayLitExpr: {
      auto *to = context.make<ArrayLitExpr>(e->loc);
      to->elements = all(cast<ArrayLitExpr>(e)->elements);
      return to;
    }
    case NodeKind::CallExpr: {
      auto *from = cast<CallExpr>(e);
      auto *to = context.make<CallExpr>(e->loc);
      to->callee = clone(from->callee);
      for (const Argument &a : from->args)
        to->args.push_back({a.label, a.labelLoc, clone(a.value)});
      to->rparenLoc = from->rparenLoc;
      return to;
    }
    case NodeKind::MemberExpr: {
      auto *from = cast<MemberExpr>(e);
      auto *to = context.make<MemberExpr>(e->loc);
      to->base = clone(from->base);
      to->member = from->member;
      to->memberLoc = from->memberLoc;
      return to;
    }
    case NodeKind::IndexExpr: {
      auto *from = cast<IndexExpr>(e);
      auto *to = context.make<IndexExpr>(e->loc);
      to->base = clone(from->base);
      to->indices = all(from->indices);
      return to;
    }
    case NodeKind::UnaryExpr: {
      auto *from = cast<UnaryExpr>(e);
      auto *to = context.make<UnaryExpr>(e->loc);
      to->op = from->op;
      to->operand = clone(from->operand);
      return to;
    }
    case NodeKind::BinaryExpr: {
      auto *from = cast<BinaryExpr>(e);
      auto *to = context.make<BinaryExpr>(e->loc);
      to->op = from->op;
      to->opLoc = from->opLoc;
      to->lhs = clone(from->lhs);
      to->rhs = clone(from->rhs);
      return to;
    }
    case NodeKind::TernaryExpr: {
      auto *from = cast<TernaryExpr>(e);
      auto *to = context.make<TernaryExpr>(e->loc);
      to->cond = clone(from->cond);
      to->thenExpr = clone(from->thenExpr);
      to->elseExpr = clone(from->elseExpr);
      return to;
    }
    case NodeKind::LambdaExpr: {
      auto *from = cast<LambdaExpr>(e);
      auto *to = context.make<LambdaExpr>(e->loc);
      to->params = all(from->params);
      to->resultRepr = clone(from->resultRepr);
      to->body = clone(from->body);
      to->expressionBody = from->expressionBody;
      return to;
    }
    case NodeKind::InOutExpr: {
      auto *to = context.make<InOutExpr>(e->loc);
      to->operand = clone(cast<InOutExpr>(e)->operand);
      return to;
    }
    default:
      DLC_UNREACHABLE("not an expression");
    }
  }

  FuncDecl *cloneFunc(const FuncDecl *f, StructDecl *newParent) {
    auto *to = context.make<FuncDecl>(f->loc);
    copyDeclBase(f, to);
    to->funcKind = f->funcKind;
    to->isMutating = f->isMutating;
    to->isStatic = f->isStatic;
    to->genericParams = all(f->genericParams);
    to->selfParam = clone(f->selfParam);
    to->params = all(f->params);
    to->resultRepr = clone(f->resultRepr);
    to->body = clone(f->body);
    to->parent = newParent;
    to->parentTrait = f->parentTrait;
    return to;
  }

private:
  ASTContext &context;
};

} // namespace

FuncDecl *cloneFunc(ASTContext &context, const FuncDecl *fn, StructDecl *newParent) {
  return Cloner(context).cloneFunc(fn, newParent);
}

StructDecl *cloneStruct(ASTContext &context, const StructDecl *s) {
  Cloner cloner(context);
  auto *to = context.make<StructDecl>(s->loc);
  cloner.copyDeclBase(s, to);
  to->genericParams = cloner.all(s->genericParams);
  to->conformances = cloner.all(s->conformances);
  to->fields = cloner.all(s->fields);
  for (FuncDecl *m : s->methods)
    to->methods.push_back(cloner.cloneFunc(m, to));
  for (FuncDecl *m : s->inits)
    to->inits.push_back(cloner.cloneFunc(m, to));
  return to;
}

} // namespace dlc::ast
