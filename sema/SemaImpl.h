// Private to sema/: the checker's state, shared by Sema.cpp (declarations),
// CheckStmt.cpp, CheckExpr.cpp and CheckCall.cpp.
#pragma once

#include "sema/Builtins.h"
#include "sema/Sema.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace dlc::sema {

using namespace dlc::ast;

/// One callable signature considered by overload resolution.
struct Candidate {
  FuncDecl *fn = nullptr; // null for a memberwise init
  std::string name;       // for messages: "f", "Point.init", "Point.norm"
  std::vector<const Type *> params;
  std::vector<std::string> labels; // "_" or empty: no label may be written
  std::vector<bool> inout;
  const Type *result = nullptr;
  std::string describe() const;
};

/// How an argument looked before overload resolution.
struct ArgInfo {
  enum class Kind { Typed, IntLiteral, FloatLiteral, UntypedLambda, EmptyArray };
  Kind kind = Kind::Typed;
  const Type *type = nullptr; // Typed
  unsigned lambdaArity = 0;   // UntypedLambda
  bool isInout = false;       // written with '&'
};

/// The function (or lambda) whose body is being checked.
struct FuncContext {
  FuncDecl *decl = nullptr;       // null inside a lambda
  LambdaExpr *lambda = nullptr;
  const Type *resultType = nullptr;
  StructDecl *owner = nullptr;    // the struct of a method or init
  bool isInit = false;
  bool isMutating = false;        // self is inout (mutating method or init)
  bool isStatic = false;
  size_t scopeBase = 0;           // scopes below this index belong to enclosing functions
  unsigned loopDepth = 0;
};

class Sema {
public:
  Sema(Program &program, TypeContext &types, DiagEngine &diags, CheckedProgram &out)
      : program(program), types(types), diags(diags), out(out) {}

  bool run();

  // --- Declarations (Sema.cpp) ---
  void collectGlobals();
  void resolveStruct(StructDecl *s);
  /// Reports a struct that contains itself by value; false when it does.
  bool checkNotRecursive(StructDecl *decl);
  void resolveSignature(FuncDecl *f);
  void checkFunctionBody(FuncDecl *f);
  /// @differentiable contracts, @vjp / @jvp signatures, @noDerivative parameters.
  void checkDerivativeAttributes();
  /// Makes the derivative rules of stdlib/derivatives.dl for Float and
  /// Double when the program differentiates (Note [Derivative rules in DL]).
  void instantiateTensorRules();
  /// Whether the body being checked is a rule of stdlib/derivatives.dl.
  bool inDerivativeRules() const;
  const Type *resolveType(TypeRepr *repr, StructDecl *selfStruct);
  const Type *lookupTypeName(const std::string &name, SourceLoc loc, bool report);
  std::vector<Decl *> lookupGlobal(const std::string &name) const;
  void noteSimilarNames(DiagBuilder &diag, const std::string &name, bool typesOnly);

  // --- Statements (CheckStmt.cpp) ---
  void checkBlock(BlockStmt *block);
  void checkStmt(Stmt *stmt);
  void checkLet(LetStmt *let);
  void bindPattern(Pattern *pattern, const Type *type, bool isMutable, SourceLoc loc);
  void checkAssign(AssignStmt *assign);
  void checkFor(ForInStmt *loop);
  void checkReturn(ReturnStmt *ret);
  bool blockAlwaysExits(const BlockStmt *block) const;
  bool stmtAlwaysExits(const Stmt *stmt) const;
  void makeImplicitReturn(BlockStmt *body);

  // --- Definite initialization (DefiniteInit.cpp) ---
  void checkDefiniteInit(FuncDecl *f);

  // --- Expressions (CheckExpr.cpp) ---
  const Type *checkExpr(Expr *expr, const Type *expected = nullptr);
  const Type *checkExprImpl(Expr *expr, const Type *expected);
  const Type *checkIntLit(IntLitExpr *lit, const Type *expected, bool negated);
  const Type *checkName(NameExpr *name, const Type *expected);
  const Type *checkMember(MemberExpr *member);
  const Type *checkIndex(IndexExpr *index, const Type *expected);
  const Type *checkUnary(UnaryExpr *unary, const Type *expected);
  const Type *checkBinary(BinaryExpr *binary, const Type *expected);
  const Type *checkTernary(TernaryExpr *ternary, const Type *expected);
  const Type *checkArrayLit(ArrayLitExpr *array, const Type *expected);
  const Type *checkLambda(LambdaExpr *lambda, const Type *expected);
  /// Checks `expr` against `expected`, reporting a mismatch. Returns the type.
  const Type *checkExprAs(Expr *expr, const Type *expected);
  /// How an lvalue is used, for messages.
  enum class LValueUse { Assign, MutatingCall, Inout };
  /// Checks `expr` as the target of an assignment, inout argument or
  /// mutating receiver (`methodName` names the method). Returns its type.
  const Type *checkLValue(Expr *expr, LValueUse use, const std::string &methodName);
  /// The variable at the root of an lvalue path (for messages), or "".
  std::string lvalueRootName(Expr *expr) const;
  bool isLiteralLike(const Expr *expr) const;
  void requireValue(Expr *expr, const Type *type);

  // --- Calls (CheckCall.cpp) ---
  const Type *checkCall(CallExpr *call, const Type *expected);
  const Type *checkBuiltinCall(CallExpr *call, Builtin b, const Type *expected);
  const Type *checkConversion(CallExpr *call, Builtin b);
  // Tensors (CheckTensor.cpp).
  /// Whether `b` applied to these arguments is a tensor operation (a tensor
  /// argument to a math builtin, or a tensor-only builtin).
  bool isTensorCall(CallExpr *call, Builtin b);
  const Type *checkTensorCall(CallExpr *call, Builtin b, const Type *expected,
                              const NameExpr *callee);
  const Type *checkTensorMember(CallExpr *call, MemberExpr *member, const Type *base);
  const Type *checkTensorProperty(MemberExpr *member, const TensorType *base);
  const Type *checkTensorBinary(BinaryExpr *binary, const Type *l, const Type *r);
  const Type *checkTensorIndex(IndexExpr *index, const TensorType *base, const Type *expected);
  /// `generics` are generic functions of the same name, instantiated when
  /// their generic arguments can be inferred; `preInfos` are arguments
  /// already pre-checked by the caller.
  const Type *checkOverloaded(CallExpr *call, const std::string &name,
                              std::vector<Candidate> candidates, bool isInit,
                              const std::vector<FuncDecl *> &generics = {},
                              const std::vector<const Type *> &explicitArgs = {},
                              const std::vector<ArgInfo> *preInfos = nullptr);
  /// `S(args)`: an init of `s` or its memberwise initializer.
  const Type *checkInitCall(CallExpr *call, StructDecl *s, const std::vector<ArgInfo> *preInfos);
  const Type *checkClosureCall(CallExpr *call, const FunctionType *fnType);
  std::vector<ArgInfo> preCheckArgs(CallExpr *call, const Candidate *only = nullptr);
  /// Cost of passing `arg` to a parameter of type `param`, or -1.
  int argCost(const ArgInfo &arg, const Type *param) const;
  void finishArgs(CallExpr *call, const Candidate &chosen, const std::vector<ArgInfo> &infos);
  Candidate candidateFor(FuncDecl *fn);
  /// grad / valueAndGrad / vjp / jvp (LANGUAGE.md §5.1).
  const Type *checkADOperator(CallExpr *call, Builtin b);
  /// Whether `e` denotes a function known at compile time: a named function,
  /// a lambda, a `let` bound to one of these, or an AD operator applied to one.
  bool isStaticFunction(const Expr *e) const;
  std::vector<FuncDecl *> methodsNamed(StructDecl *s, const std::string &name, bool wantStatic);

  // --- Traits, generics and modules (Generics.cpp, Note [Monomorphization]) ---
  TraitDecl *lookupTrait(const std::string &name) const;
  /// The trait a written conformance or bound names (`Layer`, `nn.Layer`), or "?".
  std::string traitNameOf(const TypeRepr *r) const;
  /// Whether `trait` is `ancestor` or refines it, directly or not.
  bool traitRefines(const std::string &trait, const std::string &ancestor) const;
  /// Whether `t` satisfies the bound `trait` (a struct must declare it).
  bool conformsTo(const Type *t, const std::string &trait);
  void collectRequirements(const std::string &trait, std::vector<FuncDecl *> &out,
                           std::set<std::string> &seen) const;
  void checkTraitDecl(TraitDecl *t);
  /// Every required method of every trait `s` declares, present with the
  /// right signature; `@differentiable` requirements become contracts.
  void checkConformances(StructDecl *s);
  bool isModuleName(const std::string &name) const;
  bool moduleHasMember(const std::string &module, const std::string &member) const;
  /// Matches a written parameter type against an argument type, binding
  /// generic parameters. False on a conflict (`T` bound to two types).
  bool unify(TypeRepr *pattern, const Type *actual, const std::set<std::string> &params,
             std::map<std::string, const Type *> &bound);
  bool inferGenericArgs(const std::vector<GenericParamDecl *> &generics,
                        const std::vector<TypeRepr *> &paramReprs,
                        const std::vector<ArgInfo> &infos,
                        const std::vector<const Type *> &explicitArgs,
                        std::vector<const Type *> &result, std::string &unbound);
  bool checkBounds(const std::vector<GenericParamDecl *> &generics,
                   const std::vector<const Type *> &args, const std::string &ownerName,
                   SourceLoc loc, bool report);
  std::vector<const Type *> resolveGenericArgs(const std::vector<TypeRepr *> &reprs);
  bool checkGenericArgCount(const std::string &name, size_t want, size_t given, SourceLoc loc);
  /// `staticFns[i]`, when set, is the named function passed for the
  /// function-typed parameter i: the instance calls it directly, so AD can
  /// differentiate through it (`fit(..., loss: softmaxCrossEntropy)`).
  FuncDecl *instantiateFunction(FuncDecl *g, const std::vector<const Type *> &args, SourceLoc at,
                                const std::vector<FuncDecl *> &staticFns = {});
  StructDecl *instantiateStruct(StructDecl *g, const std::vector<const Type *> &args, SourceLoc at);
  /// Checks the bodies of instances queued since the last call.
  void checkPendingBodies();
  /// Instantiates generic candidates whose arguments can be inferred from
  /// `infos`; reports why when `report` (the only candidate).
  /// `fresh` receives the instances made by this call (not found cached).
  void addGenericCandidates(CallExpr *call, const std::vector<FuncDecl *> &generics,
                            const std::vector<const Type *> &explicitArgs,
                            const std::vector<ArgInfo> &infos, bool report,
                            std::vector<Candidate> &candidates, std::vector<FuncDecl *> &fresh);
  /// Forgets an instance made for a call that chose another candidate.
  void discardInstance(FuncDecl *inst);
  /// A call of the generic struct `s` (`Residual(inner: d)`, `Adam<MLP>(...)`).
  const Type *checkGenericInit(CallExpr *call, StructDecl *s,
                               const std::vector<const Type *> &explicitArgs,
                               const Type *expected);

  // --- Scopes ---
  void pushScope() { scopes.emplace_back(); }
  void popScope() { scopes.pop_back(); }
  void declareLocal(Decl *decl);
  /// Finds a local or parameter; sets `captured` when it belongs to an
  /// enclosing function of the current lambda.
  Decl *lookupLocal(const std::string &name, bool &captured);
  FuncContext &fn() { return funcs.back(); }
  bool inFunction() const { return !funcs.empty(); }
  StructDecl *currentStruct() const;

  Program &program;
  TypeContext &types;
  DiagEngine &diags;
  CheckedProgram &out;

  std::unordered_map<std::string, std::vector<Decl *>> globals;
  std::map<StructDecl *, StructType *> structTypes;
  std::vector<std::unordered_map<std::string, Decl *>> scopes;
  std::vector<size_t> scopeOwner; // parallel to scopes: index into funcs
  std::vector<FuncContext> funcs;
  std::vector<ParamDecl *> syntheticSelf; // owned by the AST arena
  std::set<const Decl *> staticFunctionLets; // `let g = <static function>`
  std::set<const StructDecl *> resolvingStructs;

  std::map<std::string, TraitDecl *> traits;
  mutable std::set<const TraitDecl *> visitingTraits;
  std::map<std::string, uint32_t> modules; // imported stdlib module -> its file
  std::map<std::string, const Type *> activeSubst;
  std::map<std::tuple<const Decl *, std::vector<const Type *>, std::vector<FuncDecl *>>, Decl *>
      instances;
  std::map<const FuncDecl *, SourceLoc> instantiationSite;
  std::map<const FuncDecl *, unsigned> instanceDepth;
  std::vector<FuncDecl *> pendingBodies;
  unsigned instantiationDepth = 0;
  std::optional<uint32_t> rulesFile; // stdlib/derivatives.dl's file id
  bool usesAD = false;               // an AD operator was checked
  size_t derivativeAttrsChecked = 0; // out.functions[0, this) have had checkDerivativeAttributes
};

} // namespace dlc::sema
