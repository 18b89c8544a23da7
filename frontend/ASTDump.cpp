// The AST printer behind `dlc build --emit ast`: an indented tree, one node per
// line, two spaces per level, types in source syntax. Also the small AST
// helpers that have no better home: kind names, operator spellings, attributes.
// Deterministic: output depends only on the AST.
#include "frontend/AST.h"

#include <cstdio>

namespace dlc::ast {

const char *kindName(NodeKind kind) {
  // clang-format off
  switch (kind) {
#define DECL(Name) case NodeKind::Name##Decl: return #Name "Decl";
#define STMT(Name) case NodeKind::Name##Stmt: return #Name "Stmt";
#define EXPR(Name) case NodeKind::Name##Expr: return #Name "Expr";
#define PATTERN(Name) case NodeKind::Name##Pattern: return #Name "Pattern";
#define TYPEREPR(Name) case NodeKind::Name##TypeRepr: return #Name "TypeRepr";
#include "frontend/ASTNodes.def"
  }
  // clang-format on
  return "<invalid node kind>";
}

const char *binaryOpSpelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add: return "+";
  case BinaryOp::Sub: return "-";
  case BinaryOp::Mul: return "*";
  case BinaryOp::Div: return "/";
  case BinaryOp::Rem: return "%";
  case BinaryOp::MatMul: return "@";
  case BinaryOp::Eq: return "==";
  case BinaryOp::Ne: return "!=";
  case BinaryOp::Lt: return "<";
  case BinaryOp::Le: return "<=";
  case BinaryOp::Gt: return ">";
  case BinaryOp::Ge: return ">=";
  case BinaryOp::And: return "&&";
  case BinaryOp::Or: return "||";
  case BinaryOp::HalfOpenRange: return "..<";
  case BinaryOp::ClosedRange: return "...";
  }
  return "?";
}

bool Decl::hasAttribute(const std::string &attr) const { return attribute(attr) != nullptr; }

const Attribute *Decl::attribute(const std::string &attr) const {
  for (const Attribute &a : attributes)
    if (a.name == attr)
      return &a;
  return nullptr;
}

namespace {

std::string typeString(const TypeRepr *type);

std::string joinTypes(const std::vector<TypeRepr *> &types) {
  std::string out;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += typeString(types[i]);
  }
  return out;
}

/// A written type in source syntax: `[Float]`, `(Int, Float) -> Bool`, `Tensor[B, 784]`.
std::string typeString(const TypeRepr *type) {
  if (type == nullptr)
    return "<null>";
  switch (type->kind) {
  case NodeKind::NamedTypeRepr: {
    std::string out;
    for (const NamedTypeRepr::Component &c : cast<NamedTypeRepr>(type)->components) {
      if (!out.empty())
        out += ".";
      out += c.name;
      if (!c.genericArgs.empty())
        out += "<" + joinTypes(c.genericArgs) + ">";
    }
    return out;
  }
  case NodeKind::TupleTypeRepr: return "(" + joinTypes(cast<TupleTypeRepr>(type)->elements) + ")";
  case NodeKind::ArrayTypeRepr: return "[" + typeString(cast<ArrayTypeRepr>(type)->element) + "]";
  case NodeKind::FunctionTypeRepr: {
    const auto *fn = cast<FunctionTypeRepr>(type);
    std::string out = "(";
    for (size_t i = 0; i < fn->params.size(); ++i) {
      if (i > 0)
        out += ", ";
      if (i < fn->paramInout.size() && fn->paramInout[i])
        out += "inout ";
      out += typeString(fn->params[i]);
    }
    return out + ") -> " + typeString(fn->result);
  }
  case NodeKind::ShapedTypeRepr: {
    const auto *shaped = cast<ShapedTypeRepr>(type);
    std::string out = typeString(shaped->base) + "[";
    for (size_t i = 0; i < shaped->dims.size(); ++i) {
      if (i > 0)
        out += ", ";
      const ShapedTypeRepr::Dim &d = shaped->dims[i];
      switch (d.kind) {
      case ShapedTypeRepr::Dim::Kind::Literal: out += std::to_string(d.value); break;
      case ShapedTypeRepr::Dim::Kind::Wildcard: out += "_"; break;
      case ShapedTypeRepr::Dim::Kind::Variable: out += d.name; break;
      }
    }
    return out + "]";
  }
  // clang-format off
#define TYPEREPR(Name)
#define DECL(Name) case NodeKind::Name##Decl:
#define STMT(Name) case NodeKind::Name##Stmt:
#define EXPR(Name) case NodeKind::Name##Expr:
#define PATTERN(Name) case NodeKind::Name##Pattern:
#include "frontend/ASTNodes.def"
    break;
    // clang-format on
  }
  return "<not a type>";
}

std::string quoted(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
    case '\n': out += "\\n"; break;
    case '\t': out += "\\t"; break;
    case '\r': out += "\\r"; break;
    case '\0': out += "\\0"; break;
    case '\\': out += "\\\\"; break;
    case '"': out += "\\\""; break;
    default: out += c; break;
    }
  }
  return out + "\"";
}

std::string attributesString(const std::vector<Attribute> &attrs) {
  std::string out;
  for (const Attribute &a : attrs) {
    out += " @" + a.name;
    if (a.args.empty())
      continue;
    out += "(";
    for (size_t i = 0; i < a.args.size(); ++i) {
      if (i > 0)
        out += ", ";
      if (!a.args[i].label.empty())
        out += a.args[i].label + ": ";
      out += a.args[i].value;
    }
    out += ")";
  }
  return out;
}

const char *funcKindName(FuncDecl::Kind kind) {
  switch (kind) {
  case FuncDecl::Kind::Function: return "Function";
  case FuncDecl::Kind::Method: return "Method";
  case FuncDecl::Kind::Init: return "Init";
  case FuncDecl::Kind::Extern: return "Extern";
  case FuncDecl::Kind::Requirement: return "Requirement";
  }
  return "?";
}

class Dumper {
public:
  std::string out;

  /// One node and its children. `prefix` names the node's role in its parent
  /// where position alone would not (`else:`, an argument label).
  void node(const Node *n, unsigned indent, const std::string &prefix = "") {
    line(indent);
    out += prefix;
    if (n == nullptr) {
      out += "<null>\n";
      return;
    }
    out += kindName(n->kind);
    switch (n->kind) {
    case NodeKind::ImportDecl: {
      const auto *d = cast<ImportDecl>(n);
      out += d->isPath ? " " + quoted(d->name) : " '" + d->name + "'";
      out += attributesString(d->attributes) + "\n";
      return;
    }
    case NodeKind::FuncDecl: return func(cast<FuncDecl>(n), indent);
    case NodeKind::ParamDecl: {
      const auto *p = cast<ParamDecl>(n);
      out += " '" + p->name + "'";
      if (p->isSelf) {
        out += " self\n";
        return;
      }
      out += " label='" + p->label + "'";
      if (p->isInout)
        out += " inout";
      if (p->typeRepr != nullptr)
        out += " type=" + typeString(p->typeRepr);
      out += attributesString(p->attributes) + "\n";
      return;
    }
    case NodeKind::VarDecl: {
      const auto *v = cast<VarDecl>(n);
      out += " '" + v->name + "' " + (v->isMutable ? "var" : "let");
      if (v->isField)
        out += " field#" + std::to_string(v->fieldIndex);
      if (v->typeRepr != nullptr)
        out += " type=" + typeString(v->typeRepr);
      out += attributesString(v->attributes) + "\n";
      if (v->init != nullptr)
        node(v->init, indent + 1, "init: ");
      return;
    }
    case NodeKind::StructDecl: {
      const auto *s = cast<StructDecl>(n);
      out += " '" + s->name + "'";
      if (!s->conformances.empty())
        out += " : " + joinTypes(s->conformances);
      out += attributesString(s->attributes) + "\n";
      for (const GenericParamDecl *g : s->genericParams)
        node(g, indent + 1);
      for (const VarDecl *f : s->fields)
        node(f, indent + 1);
      for (const FuncDecl *f : s->inits)
        node(f, indent + 1);
      for (const FuncDecl *f : s->methods)
        node(f, indent + 1);
      return;
    }
    case NodeKind::TraitDecl: {
      const auto *t = cast<TraitDecl>(n);
      out += " '" + t->name + "'";
      if (!t->refines.empty())
        out += " : " + joinTypes(t->refines);
      out += attributesString(t->attributes) + "\n";
      for (const FuncDecl *f : t->requirements)
        node(f, indent + 1);
      return;
    }
    case NodeKind::GenericParamDecl: {
      const auto *g = cast<GenericParamDecl>(n);
      out += " '" + g->name + "'";
      if (!g->bounds.empty())
        out += " : " + joinTypes(g->bounds);
      out += "\n";
      return;
    }
    case NodeKind::BlockStmt:
      out += "\n";
      for (const Stmt *s : cast<BlockStmt>(n)->stmts)
        node(s, indent + 1);
      return;
    case NodeKind::LetStmt: {
      const auto *s = cast<LetStmt>(n);
      out += s->isMutable ? " var" : " let";
      if (s->typeRepr != nullptr)
        out += " type=" + typeString(s->typeRepr);
      out += "\n";
      node(s->pattern, indent + 1);
      if (s->init != nullptr)
        node(s->init, indent + 1);
      return;
    }
    case NodeKind::ExprStmt:
      out += "\n";
      node(cast<ExprStmt>(n)->expr, indent + 1);
      return;
    case NodeKind::AssignStmt: {
      const auto *s = cast<AssignStmt>(n);
      out += s->op == '=' ? std::string(" '='") : std::string(" '") + s->op + "='";
      out += "\n";
      node(s->target, indent + 1);
      node(s->value, indent + 1);
      return;
    }
    case NodeKind::IfStmt: {
      const auto *s = cast<IfStmt>(n);
      out += "\n";
      node(s->cond, indent + 1);
      node(s->thenBlock, indent + 1);
      if (s->elseStmt != nullptr)
        node(s->elseStmt, indent + 1, "else: ");
      return;
    }
    case NodeKind::WhileStmt: {
      const auto *s = cast<WhileStmt>(n);
      out += "\n";
      node(s->cond, indent + 1);
      node(s->body, indent + 1);
      return;
    }
    case NodeKind::ForInStmt: {
      const auto *s = cast<ForInStmt>(n);
      out += "\n";
      node(s->pattern, indent + 1);
      node(s->sequence, indent + 1, "in: ");
      node(s->body, indent + 1);
      return;
    }
    case NodeKind::ReturnStmt: {
      const auto *s = cast<ReturnStmt>(n);
      out += s->implicit ? " implicit\n" : "\n";
      if (s->value != nullptr)
        node(s->value, indent + 1);
      return;
    }
    case NodeKind::BreakStmt:
    case NodeKind::ContinueStmt: out += "\n"; return;
    case NodeKind::IntLitExpr: {
      const auto *e = cast<IntLitExpr>(n);
      out += " " + std::to_string(e->value);
      if (e->text != std::to_string(e->value))
        out += " '" + e->text + "'";
      out += "\n";
      return;
    }
    case NodeKind::FloatLitExpr: {
      const auto *e = cast<FloatLitExpr>(n);
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", e->value);
      out += " " + e->text + " (" + buf + ")\n";
      return;
    }
    case NodeKind::BoolLitExpr: out += cast<BoolLitExpr>(n)->value ? " true\n" : " false\n"; return;
    case NodeKind::StringLitExpr: out += " " + quoted(cast<StringLitExpr>(n)->value) + "\n"; return;
    case NodeKind::NameExpr: {
      const auto *e = cast<NameExpr>(n);
      out += " '" + e->name + "'";
      if (!e->genericArgs.empty())
        out += " <" + joinTypes(e->genericArgs) + ">";
      out += "\n";
      return;
    }
    case NodeKind::SelfExpr: out += "\n"; return;
    case NodeKind::ParenExpr:
      out += "\n";
      node(cast<ParenExpr>(n)->inner, indent + 1);
      return;
    case NodeKind::TupleExpr:
      out += "\n";
      for (const Expr *e : cast<TupleExpr>(n)->elements)
        node(e, indent + 1);
      return;
    case NodeKind::ArrayLitExpr:
      out += "\n";
      for (const Expr *e : cast<ArrayLitExpr>(n)->elements)
        node(e, indent + 1);
      return;
    case NodeKind::CallExpr: {
      const auto *e = cast<CallExpr>(n);
      out += "\n";
      node(e->callee, indent + 1);
      for (const Argument &a : e->args)
        node(a.value, indent + 1, a.label.empty() ? "" : a.label + ": ");
      return;
    }
    case NodeKind::MemberExpr: {
      const auto *e = cast<MemberExpr>(n);
      out += " '." + e->member + "'\n";
      node(e->base, indent + 1);
      return;
    }
    case NodeKind::IndexExpr: {
      const auto *e = cast<IndexExpr>(n);
      out += "\n";
      node(e->base, indent + 1);
      for (const Expr *i : e->indices)
        node(i, indent + 1, "index: ");
      return;
    }
    case NodeKind::UnaryExpr: {
      const auto *e = cast<UnaryExpr>(n);
      out += std::string(" '") + e->op + "'\n";
      node(e->operand, indent + 1);
      return;
    }
    case NodeKind::BinaryExpr: {
      const auto *e = cast<BinaryExpr>(n);
      out += std::string(" '") + binaryOpSpelling(e->op) + "'\n";
      node(e->lhs, indent + 1);
      node(e->rhs, indent + 1);
      return;
    }
    case NodeKind::TernaryExpr: {
      const auto *e = cast<TernaryExpr>(n);
      out += "\n";
      node(e->cond, indent + 1);
      node(e->thenExpr, indent + 1);
      node(e->elseExpr, indent + 1);
      return;
    }
    case NodeKind::LambdaExpr: {
      const auto *e = cast<LambdaExpr>(n);
      out += e->expressionBody ? " expression-body\n" : "\n";
      for (const ParamDecl *p : e->params)
        node(p, indent + 1);
      if (e->resultRepr != nullptr) {
        line(indent + 1);
        out += "result: " + typeString(e->resultRepr) + "\n";
      }
      node(e->body, indent + 1);
      return;
    }
    case NodeKind::InOutExpr:
      out += "\n";
      node(cast<InOutExpr>(n)->operand, indent + 1);
      return;
    case NodeKind::IdentPattern: {
      const auto *p = cast<IdentPattern>(n);
      out += " '" + (p->var ? p->var->name : std::string("<null>")) + "'";
      if (p->var != nullptr && p->var->typeRepr != nullptr)
        out += " type=" + typeString(p->var->typeRepr);
      out += "\n";
      return;
    }
    case NodeKind::TuplePattern:
      out += "\n";
      for (const Pattern *p : cast<TuplePattern>(n)->elements)
        node(p, indent + 1);
      return;
    case NodeKind::WildcardPattern: out += "\n"; return;
    case NodeKind::NamedTypeRepr:
    case NodeKind::TupleTypeRepr:
    case NodeKind::ArrayTypeRepr:
    case NodeKind::FunctionTypeRepr:
    case NodeKind::ShapedTypeRepr: out += " " + typeString(cast<TypeRepr>(n)) + "\n"; return;
    }
  }

private:
  void line(unsigned indent) { out.append(size_t(indent) * 2, ' '); }

  void func(const FuncDecl *f, unsigned indent) {
    out += " '" + f->name + "' [" + funcKindName(f->funcKind) + "]";
    if (f->isMutating)
      out += " mutating";
    if (f->isStatic)
      out += " static";
    out += attributesString(f->attributes) + "\n";
    for (const GenericParamDecl *g : f->genericParams)
      node(g, indent + 1);
    if (f->selfParam != nullptr)
      node(f->selfParam, indent + 1);
    for (const ParamDecl *p : f->params)
      node(p, indent + 1);
    if (f->resultRepr != nullptr) {
      line(indent + 1);
      out += "result: " + typeString(f->resultRepr) + "\n";
    }
    if (f->body != nullptr)
      node(f->body, indent + 1);
  }
};

} // namespace

std::string dump(const SourceFile &file) {
  Dumper dumper;
  for (const Decl *d : file.decls)
    dumper.node(d, 0);
  for (const Stmt *s : file.topLevelStmts)
    dumper.node(s, 0);
  return dumper.out;
}

} // namespace dlc::ast
