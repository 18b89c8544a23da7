// The abstract syntax tree: plain data built by the parser (frontend/Parser.cpp)
// and annotated in place by sema (types, resolved names and call targets).
// Nodes live in an ASTContext arena and are referenced by raw pointer.
#pragma once

#include "frontend/SourceManager.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dlc::sema {
class Type;
} // namespace dlc::sema

namespace dlc::ast {

enum class NodeKind : uint8_t {
#define DECL(Name) Name##Decl,
#define STMT(Name) Name##Stmt,
#define EXPR(Name) Name##Expr,
#define PATTERN(Name) Name##Pattern,
#define TYPEREPR(Name) Name##TypeRepr,
#include "frontend/ASTNodes.def"
};

const char *kindName(NodeKind kind);

class Node {
public:
  virtual ~Node() = default;
  NodeKind kind;
  SourceLoc loc;

protected:
  Node(NodeKind kind, SourceLoc loc) : kind(kind), loc(loc) {}
};

/// LLVM-style casts over NodeKind.
template <class T> bool isa(const Node *n) { return n && T::classof(n); }
template <class T> T *cast(Node *n) { return static_cast<T *>(n); }
template <class T> const T *cast(const Node *n) { return static_cast<const T *>(n); }
template <class T> T *dynCast(Node *n) { return isa<T>(n) ? static_cast<T *>(n) : nullptr; }
template <class T> const T *dynCast(const Node *n) {
  return isa<T>(n) ? static_cast<const T *>(n) : nullptr;
}

#define DLC_AST_CLASSOF(Name)                                                                      \
  static bool classof(const Node *n) { return n->kind == NodeKind::Name; }

class Decl;
class Expr;
class Stmt;
class Pattern;
class TypeRepr;
class BlockStmt;
class FuncDecl;
class StructDecl;
class TraitDecl;
class VarDecl;
class ParamDecl;
class GenericParamDecl;

// --- Attributes -------------------------------------------------------------

/// `@name` or `@name(label: arg, ...)`; arguments are kept as written (names).
struct Attribute {
  std::string name;
  SourceLoc loc;
  struct Arg {
    std::string label; // empty when unlabeled
    std::string value; // identifier or literal text
    SourceLoc loc;
  };
  std::vector<Arg> args;
};

// --- Types as written --------------------------------------------------------

class TypeRepr : public Node {
public:
  static bool classof(const Node *n) {
    return n->kind >= NodeKind::NamedTypeRepr && n->kind <= NodeKind::ShapedTypeRepr;
  }
  /// Set by sema.
  const sema::Type *resolved = nullptr;

protected:
  using Node::Node;
};

/// `Float`, `Tensor<Double>`, `S.Tangent`, `Self`: a dotted path of
/// components, each with optional generic arguments.
class NamedTypeRepr : public TypeRepr {
public:
  DLC_AST_CLASSOF(NamedTypeRepr)
  struct Component {
    std::string name;
    SourceLoc loc;
    std::vector<TypeRepr *> genericArgs;
  };
  std::vector<Component> components;
  explicit NamedTypeRepr(SourceLoc loc) : TypeRepr(NodeKind::NamedTypeRepr, loc) {}
};

class TupleTypeRepr : public TypeRepr {
public:
  DLC_AST_CLASSOF(TupleTypeRepr)
  std::vector<TypeRepr *> elements; // empty: ()
  explicit TupleTypeRepr(SourceLoc loc) : TypeRepr(NodeKind::TupleTypeRepr, loc) {}
};

class ArrayTypeRepr : public TypeRepr {
public:
  DLC_AST_CLASSOF(ArrayTypeRepr)
  TypeRepr *element = nullptr;
  explicit ArrayTypeRepr(SourceLoc loc) : TypeRepr(NodeKind::ArrayTypeRepr, loc) {}
};

class FunctionTypeRepr : public TypeRepr {
public:
  DLC_AST_CLASSOF(FunctionTypeRepr)
  std::vector<TypeRepr *> params;
  std::vector<bool> paramInout; // parallel to params: `inout T`
  TypeRepr *result = nullptr;
  explicit FunctionTypeRepr(SourceLoc loc) : TypeRepr(NodeKind::FunctionTypeRepr, loc) {}
};

/// `Tensor[B, 784]` / `Tensor<Double>[_, 10]` (§10).
class ShapedTypeRepr : public TypeRepr {
public:
  DLC_AST_CLASSOF(ShapedTypeRepr)
  TypeRepr *base = nullptr;
  struct Dim {
    enum class Kind { Literal, Wildcard, Variable } kind;
    int64_t value = 0;
    std::string name;
    SourceLoc loc;
  };
  std::vector<Dim> dims;
  explicit ShapedTypeRepr(SourceLoc loc) : TypeRepr(NodeKind::ShapedTypeRepr, loc) {}
};

// --- Declarations --------------------------------------------------------------

class Decl : public Node {
public:
  static bool classof(const Node *n) {
    return n->kind >= NodeKind::ImportDecl && n->kind <= NodeKind::GenericParamDecl;
  }
  std::string name;
  SourceLoc nameLoc;
  std::vector<Attribute> attributes;
  bool hasAttribute(const std::string &attr) const;
  const Attribute *attribute(const std::string &attr) const;

protected:
  using Node::Node;
};

class ImportDecl : public Decl {
public:
  DLC_AST_CLASSOF(ImportDecl)
  bool isPath = false; // import "file.dl" (name holds the path) vs import nn
  explicit ImportDecl(SourceLoc loc) : Decl(NodeKind::ImportDecl, loc) {}
};

class GenericParamDecl : public Decl {
public:
  DLC_AST_CLASSOF(GenericParamDecl)
  std::vector<TypeRepr *> bounds; // <T: Layer>
  explicit GenericParamDecl(SourceLoc loc) : Decl(NodeKind::GenericParamDecl, loc) {}
};

class ParamDecl : public Decl {
public:
  DLC_AST_CLASSOF(ParamDecl)
  /// The argument label: equal to `name` unless written separately
  /// (`fn scale(by s: Float)`: label "by", name "s"). `_` means no label.
  std::string label;
  TypeRepr *typeRepr = nullptr; // null for untyped lambda params and bare `self`
  bool isInout = false;
  bool isSelf = false; // the explicit receiver `self` of a method
  /// Set by sema.
  const sema::Type *type = nullptr;
  /// In an instance specialized on a named function passed for this
  /// function-typed parameter (Note [Monomorphization]): that function.
  FuncDecl *staticBinding = nullptr;
  explicit ParamDecl(SourceLoc loc) : Decl(NodeKind::ParamDecl, loc) {}
};

class VarDecl : public Decl {
public:
  DLC_AST_CLASSOF(VarDecl)
  bool isMutable = false; // var vs let
  bool isField = false;
  TypeRepr *typeRepr = nullptr; // fields always have one; locals optionally
  Expr *init = nullptr;         // field default values are not supported (sema reports)
  /// Set by sema.
  const sema::Type *type = nullptr;
  unsigned fieldIndex = 0; // for fields
  explicit VarDecl(SourceLoc loc) : Decl(NodeKind::VarDecl, loc) {}
};

class FuncDecl : public Decl {
public:
  DLC_AST_CLASSOF(FuncDecl)
  enum class Kind { Function, Method, Init, Extern, Requirement };
  Kind funcKind = Kind::Function;
  bool isMutating = false;
  bool isStatic = false;
  std::vector<GenericParamDecl *> genericParams;
  ParamDecl *selfParam = nullptr; // explicit `self` first parameter, if written
  std::vector<ParamDecl *> params; // excludes `self`
  TypeRepr *resultRepr = nullptr;  // null: returns ()
  BlockStmt *body = nullptr;       // null for extern fns and trait requirements
  StructDecl *parent = nullptr;    // enclosing struct for methods and inits
  TraitDecl *parentTrait = nullptr;
  /// Set by sema.
  const sema::Type *type = nullptr; // a FunctionType (params only, no self)
  const sema::Type *resultType = nullptr;
  bool isGeneric() const { return !genericParams.empty(); }
  /// For an instance made by monomorphization (sema/Generics.cpp): the
  /// generic declaration it was cloned from and the types bound to the
  /// generic parameters (its own and, for a method, its struct's).
  FuncDecl *genericOrigin = nullptr;
  std::vector<std::pair<std::string, const sema::Type *>> genericSubst;
  explicit FuncDecl(SourceLoc loc) : Decl(NodeKind::FuncDecl, loc) {}
};

class StructDecl : public Decl {
public:
  DLC_AST_CLASSOF(StructDecl)
  std::vector<GenericParamDecl *> genericParams;
  std::vector<TypeRepr *> conformances; // struct S: Layer, Differentiable
  std::vector<VarDecl *> fields;
  std::vector<FuncDecl *> methods; // includes static fns
  std::vector<FuncDecl *> inits;
  /// Set by sema.
  const sema::Type *type = nullptr;
  /// For an instance such as `Residual<Dense>`: the generic declaration and
  /// the types bound to its parameters.
  StructDecl *genericOrigin = nullptr;
  std::vector<std::pair<std::string, const sema::Type *>> genericSubst;
  bool isGenericDecl() const { return !genericParams.empty(); }
  explicit StructDecl(SourceLoc loc) : Decl(NodeKind::StructDecl, loc) {}
};

class TraitDecl : public Decl {
public:
  DLC_AST_CLASSOF(TraitDecl)
  std::vector<TypeRepr *> refines;       // trait Layer: Differentiable
  std::vector<FuncDecl *> requirements; // bodies are null
  explicit TraitDecl(SourceLoc loc) : Decl(NodeKind::TraitDecl, loc) {}
};

// --- Patterns ------------------------------------------------------------------

class Pattern : public Node {
public:
  static bool classof(const Node *n) {
    return n->kind >= NodeKind::IdentPattern && n->kind <= NodeKind::WildcardPattern;
  }

protected:
  using Node::Node;
};

class IdentPattern : public Pattern {
public:
  DLC_AST_CLASSOF(IdentPattern)
  VarDecl *var = nullptr; // the binding (created by the parser)
  explicit IdentPattern(SourceLoc loc) : Pattern(NodeKind::IdentPattern, loc) {}
};

class TuplePattern : public Pattern {
public:
  DLC_AST_CLASSOF(TuplePattern)
  std::vector<Pattern *> elements;
  explicit TuplePattern(SourceLoc loc) : Pattern(NodeKind::TuplePattern, loc) {}
};

class WildcardPattern : public Pattern {
public:
  DLC_AST_CLASSOF(WildcardPattern)
  explicit WildcardPattern(SourceLoc loc) : Pattern(NodeKind::WildcardPattern, loc) {}
};

// --- Statements ----------------------------------------------------------------

class Stmt : public Node {
public:
  static bool classof(const Node *n) {
    return n->kind >= NodeKind::BlockStmt && n->kind <= NodeKind::ContinueStmt;
  }

protected:
  using Node::Node;
};

class BlockStmt : public Stmt {
public:
  DLC_AST_CLASSOF(BlockStmt)
  std::vector<Stmt *> stmts;
  SourceLoc endLoc; // the closing brace
  explicit BlockStmt(SourceLoc loc) : Stmt(NodeKind::BlockStmt, loc) {}
};

/// `let p = e`, `var x: T = e`. The VarDecls are those of the pattern; each
/// gets isMutable and (for an IdentPattern) the typeRepr.
class LetStmt : public Stmt {
public:
  DLC_AST_CLASSOF(LetStmt)
  bool isMutable = false;
  Pattern *pattern = nullptr;
  TypeRepr *typeRepr = nullptr; // optional annotation
  Expr *init = nullptr;         // optional for `var x: T` (definite initialization applies)
  explicit LetStmt(SourceLoc loc) : Stmt(NodeKind::LetStmt, loc) {}
};

class ExprStmt : public Stmt {
public:
  DLC_AST_CLASSOF(ExprStmt)
  Expr *expr = nullptr;
  explicit ExprStmt(SourceLoc loc) : Stmt(NodeKind::ExprStmt, loc) {}
};

class AssignStmt : public Stmt {
public:
  DLC_AST_CLASSOF(AssignStmt)
  /// '=' for plain assignment, else the arithmetic operator: '+', '-', '*', '/'.
  char op = '=';
  SourceLoc opLoc;
  Expr *target = nullptr;
  Expr *value = nullptr;
  explicit AssignStmt(SourceLoc loc) : Stmt(NodeKind::AssignStmt, loc) {}
};

class IfStmt : public Stmt {
public:
  DLC_AST_CLASSOF(IfStmt)
  Expr *cond = nullptr;
  BlockStmt *thenBlock = nullptr;
  Stmt *elseStmt = nullptr; // a BlockStmt, another IfStmt (else if), or null
  explicit IfStmt(SourceLoc loc) : Stmt(NodeKind::IfStmt, loc) {}
};

class WhileStmt : public Stmt {
public:
  DLC_AST_CLASSOF(WhileStmt)
  Expr *cond = nullptr;
  BlockStmt *body = nullptr;
  explicit WhileStmt(SourceLoc loc) : Stmt(NodeKind::WhileStmt, loc) {}
};

/// `for PATTERN in SEQ { ... }`. SEQ is a range (`a ..< b`, `a ... b`, a
/// BinaryExpr), an array, or any other iterable expression.
class ForInStmt : public Stmt {
public:
  DLC_AST_CLASSOF(ForInStmt)
  Pattern *pattern = nullptr;
  Expr *sequence = nullptr;
  BlockStmt *body = nullptr;
  /// Set by sema when SEQ is a struct value: element i is `seq.at(i)` for i
  /// in 0..<seq.count (the `count` field's index).
  FuncDecl *elementMethod = nullptr;
  unsigned countField = 0;
  explicit ForInStmt(SourceLoc loc) : Stmt(NodeKind::ForInStmt, loc) {}
};

class ReturnStmt : public Stmt {
public:
  DLC_AST_CLASSOF(ReturnStmt)
  Expr *value = nullptr;
  /// Set by sema: true when this return was synthesized from a
  /// single-expression body.
  bool implicit = false;
  explicit ReturnStmt(SourceLoc loc) : Stmt(NodeKind::ReturnStmt, loc) {}
};

class BreakStmt : public Stmt {
public:
  DLC_AST_CLASSOF(BreakStmt)
  explicit BreakStmt(SourceLoc loc) : Stmt(NodeKind::BreakStmt, loc) {}
};

class ContinueStmt : public Stmt {
public:
  DLC_AST_CLASSOF(ContinueStmt)
  explicit ContinueStmt(SourceLoc loc) : Stmt(NodeKind::ContinueStmt, loc) {}
};

// --- Expressions -----------------------------------------------------------------

class Expr : public Node {
public:
  static bool classof(const Node *n) {
    return n->kind >= NodeKind::IntLitExpr && n->kind <= NodeKind::InOutExpr;
  }
  /// Set by sema.
  const sema::Type *type = nullptr;

protected:
  using Node::Node;
};

class IntLitExpr : public Expr {
public:
  DLC_AST_CLASSOF(IntLitExpr)
  std::string text; // as written, e.g. "1_000", "0x1F"
  uint64_t value = 0; // parsed by the parser (overflow reported there)
  explicit IntLitExpr(SourceLoc loc) : Expr(NodeKind::IntLitExpr, loc) {}
};

class FloatLitExpr : public Expr {
public:
  DLC_AST_CLASSOF(FloatLitExpr)
  std::string text;
  double value = 0;
  explicit FloatLitExpr(SourceLoc loc) : Expr(NodeKind::FloatLitExpr, loc) {}
};

class BoolLitExpr : public Expr {
public:
  DLC_AST_CLASSOF(BoolLitExpr)
  bool value = false;
  explicit BoolLitExpr(SourceLoc loc) : Expr(NodeKind::BoolLitExpr, loc) {}
};

class StringLitExpr : public Expr {
public:
  DLC_AST_CLASSOF(StringLitExpr)
  std::string value; // escapes already decoded
  explicit StringLitExpr(SourceLoc loc) : Expr(NodeKind::StringLitExpr, loc) {}
};

class NameExpr : public Expr {
public:
  DLC_AST_CLASSOF(NameExpr)
  std::string name;
  std::vector<TypeRepr *> genericArgs; // Adam<MLP>
  /// Set by sema: what the name refers to.
  enum class Ref { Unresolved, Local, Param, Field, Function, Type, Builtin };
  Ref ref = Ref::Unresolved;
  Decl *decl = nullptr;  // VarDecl, ParamDecl, FuncDecl, StructDecl
  int builtin = -1;      // sema's builtin id when ref == Builtin
  explicit NameExpr(SourceLoc loc) : Expr(NodeKind::NameExpr, loc) {}
};

class SelfExpr : public Expr {
public:
  DLC_AST_CLASSOF(SelfExpr)
  explicit SelfExpr(SourceLoc loc) : Expr(NodeKind::SelfExpr, loc) {}
};

class ParenExpr : public Expr {
public:
  DLC_AST_CLASSOF(ParenExpr)
  Expr *inner = nullptr;
  explicit ParenExpr(SourceLoc loc) : Expr(NodeKind::ParenExpr, loc) {}
};

class TupleExpr : public Expr {
public:
  DLC_AST_CLASSOF(TupleExpr)
  std::vector<Expr *> elements; // 0 or >= 2 elements
  explicit TupleExpr(SourceLoc loc) : Expr(NodeKind::TupleExpr, loc) {}
};

class ArrayLitExpr : public Expr {
public:
  DLC_AST_CLASSOF(ArrayLitExpr)
  std::vector<Expr *> elements;
  explicit ArrayLitExpr(SourceLoc loc) : Expr(NodeKind::ArrayLitExpr, loc) {}
};

struct Argument {
  std::string label; // empty when unlabeled
  SourceLoc labelLoc;
  Expr *value = nullptr;
};

class CallExpr : public Expr {
public:
  DLC_AST_CLASSOF(CallExpr)
  Expr *callee = nullptr;
  std::vector<Argument> args;
  SourceLoc rparenLoc;
  /// Set by sema: how the call is made.
  enum class Kind {
    Unresolved,
    Function,       // a top-level or extern function: target
    Method,         // receiver.method(args): target, receiver
    StaticMethod,   // S.method(args): target
    Init,           // S(args) with a written init: target, structType
    MemberwiseInit, // S(args) with no written init: structType
    CallMethod,     // value(args) where value's struct has `call`: target, receiver
    Closure,        // a function value
    Builtin,        // print, sin, Float(x), ...: builtin
  };
  Kind callKind = Kind::Unresolved;
  FuncDecl *target = nullptr;
  Expr *receiver = nullptr; // for Method / CallMethod
  int builtin = -1;
  explicit CallExpr(SourceLoc loc) : Expr(NodeKind::CallExpr, loc) {}
};

class MemberExpr : public Expr {
public:
  DLC_AST_CLASSOF(MemberExpr)
  Expr *base = nullptr;
  std::string member; // identifier, or digits for tuple elements (t.0)
  SourceLoc memberLoc;
  /// Set by sema.
  enum class Kind { Unresolved, Field, TupleElement, Method, Property, StaticMethod };
  Kind memberKind = Kind::Unresolved;
  unsigned index = 0;        // field or tuple element index
  FuncDecl *method = nullptr; // Method / StaticMethod
  int builtin = -1;          // Property (a.count, x.shape, ...)
  explicit MemberExpr(SourceLoc loc) : Expr(NodeKind::MemberExpr, loc) {}
};

class IndexExpr : public Expr {
public:
  DLC_AST_CLASSOF(IndexExpr)
  Expr *base = nullptr;
  std::vector<Expr *> indices;
  explicit IndexExpr(SourceLoc loc) : Expr(NodeKind::IndexExpr, loc) {}
};

class UnaryExpr : public Expr {
public:
  DLC_AST_CLASSOF(UnaryExpr)
  char op = '-'; // '-' or '!'
  Expr *operand = nullptr;
  explicit UnaryExpr(SourceLoc loc) : Expr(NodeKind::UnaryExpr, loc) {}
};

enum class BinaryOp {
  Add, Sub, Mul, Div, Rem, MatMul,
  Eq, Ne, Lt, Le, Gt, Ge,
  And, Or,
  HalfOpenRange, ClosedRange,
};
const char *binaryOpSpelling(BinaryOp op);

class BinaryExpr : public Expr {
public:
  DLC_AST_CLASSOF(BinaryExpr)
  BinaryOp op = BinaryOp::Add;
  SourceLoc opLoc;
  Expr *lhs = nullptr;
  Expr *rhs = nullptr;
  bool tangentArithmetic = false; // set by sema: fieldwise on S.Tangent values (§5.2)
  explicit BinaryExpr(SourceLoc loc) : Expr(NodeKind::BinaryExpr, loc) {}
};

class TernaryExpr : public Expr {
public:
  DLC_AST_CLASSOF(TernaryExpr)
  Expr *cond = nullptr;
  Expr *thenExpr = nullptr;
  Expr *elseExpr = nullptr;
  explicit TernaryExpr(SourceLoc loc) : Expr(NodeKind::TernaryExpr, loc) {}
};

/// `|x: Float, y| -> Float { ... }` or `|x| expr`. An expression body is
/// stored as a block holding one ReturnStmt with implicit = true.
class LambdaExpr : public Expr {
public:
  DLC_AST_CLASSOF(LambdaExpr)
  std::vector<ParamDecl *> params;
  TypeRepr *resultRepr = nullptr;
  BlockStmt *body = nullptr;
  bool expressionBody = false;
  /// Set by sema: outer locals/params referenced inside, in first-use order.
  std::vector<Decl *> captures;
  const sema::Type *resultType = nullptr;
  explicit LambdaExpr(SourceLoc loc) : Expr(NodeKind::LambdaExpr, loc) {}
};

class InOutExpr : public Expr {
public:
  DLC_AST_CLASSOF(InOutExpr)
  Expr *operand = nullptr;
  explicit InOutExpr(SourceLoc loc) : Expr(NodeKind::InOutExpr, loc) {}
};

// --- Files and the arena ----------------------------------------------------------

/// One parsed source file.
struct SourceFile {
  uint32_t fileId = 0;
  std::string path;
  std::vector<Decl *> decls; // imports, functions, structs, traits, in source order
  /// Top-level statements (only meaningful in the REPL; sema reports them
  /// elsewhere).
  std::vector<Stmt *> topLevelStmts;
};

/// Owns every node. Nodes are never freed individually.
class ASTContext {
public:
  template <class T, class... Args> T *make(Args &&...args) {
    auto node = std::make_unique<T>(std::forward<Args>(args)...);
    T *raw = node.get();
    nodes.push_back(std::move(node));
    return raw;
  }
  size_t nodeCount() const { return nodes.size(); }

private:
  std::vector<std::unique_ptr<Node>> nodes;
};

/// A whole program: the main file and every file it imports (transitively),
/// dependencies first.
struct Program {
  ASTContext context;
  std::vector<std::unique_ptr<SourceFile>> files;
  SourceFile *mainFile = nullptr;
  /// stdlib/derivatives.dl, registered with the SourceManager but parsed by
  /// sema only when the program needs it (Note [Derivative rules in DL]); 0
  /// when not registered.
  uint32_t derivativeRulesFile = 0;
};

/// Deep copies of declarations as the parser built them (no sema
/// annotations), for monomorphization: sema checks one copy per instance.
/// A cloned struct's methods and inits point at the new struct.
FuncDecl *cloneFunc(ASTContext &context, const FuncDecl *fn, StructDecl *newParent);
StructDecl *cloneStruct(ASTContext &context, const StructDecl *s);

/// Prints the AST as an indented tree (`dlc build --emit ast`).
std::string dump(const SourceFile &file);

} // namespace dlc::ast
