// Private to ir/Lower*.cpp: the lowering state. One FunctionLowerer per
// function (and per lambda) walks the structured AST, keeping each variable's
// current SSA value in an environment; joins and loops pass mutable variables
// as block arguments, which simplifyBlockArgs then prunes.
#pragma once

#include "ir/Builder.h"
#include "ir/Lower.h"

#include "frontend/Assert.h"
#include "sema/Builtins.h"

#include <functional>
#include <map>
#include <unordered_map>

namespace dlc::ir::lowering {

using namespace dlc::ast;
using sema::Builtin;
using sema::TypeKind;

/// The module-wide state: which DIR function each declaration became.
struct ModuleLowerer {
  const sema::CheckedProgram &program;
  Module &module;
  std::unordered_map<const FuncDecl *, FuncId> functionIds;
  unsigned lambdaCounter = 0;

  ModuleLowerer(const sema::CheckedProgram &p, Module &m) : program(p), module(m) {}
  sema::TypeContext &types() { return *module.types; }

  /// The DIR signature of a function declaration: receiver (methods), then
  /// parameters; the result, or (result, inout...) when it has inouts.
  const sema::FunctionType *signature(const FuncDecl *f);
  void declareAll();
  void run();
};

/// A variable environment: each declaration's current value, in the order
/// declarations were bound (so block arguments come out deterministic).
struct Env {
  std::vector<std::pair<const Decl *, ValueId>> vars;

  ValueId get(const Decl *d) const {
    for (auto it = vars.rbegin(); it != vars.rend(); ++it)
      if (it->first == d)
        return it->second;
    return ValueId{};
  }
  void set(const Decl *d, ValueId v) {
    for (auto it = vars.rbegin(); it != vars.rend(); ++it)
      if (it->first == d) {
        it->second = v;
        return;
      }
    vars.push_back({d, v});
  }
};

/// A path to a mutable place: a root variable and field/element/index steps
/// whose indices are already evaluated.
struct LValue {
  const Decl *root = nullptr;
  struct Step {
    enum class Kind { Field, Tuple, Index } kind;
    unsigned index = 0;
    ValueId indexValue;
    SourceLoc loc;
  };
  std::vector<Step> steps;
};

struct LoopTargets {
  BlockId continueBlock;
  BlockId breakBlock;
  std::vector<const Decl *> carried; // the mutables both targets take as arguments
};

class FunctionLowerer {
public:
  FunctionLowerer(ModuleLowerer &m, Function &f) : m(m), f(f) {}

  void lowerFunction(const FuncDecl *decl);
  void lowerLambda(const LambdaExpr *lambda);

private:
  sema::TypeContext &types() { return m.types(); }

  // --- Emission helpers ---
  /// The shared DIR builder, positioned at the current block (terminators
  /// do not move it, so `cur` needs no update afterwards).
  Builder here() {
    Builder b(m.module, f);
    b.cur = cur;
    return b;
  }
  ValueId emit(Op op, const Type *type, std::vector<ValueId> operands, SourceLoc loc = {},
               int64_t imm = 0) {
    Builder b = here();
    b.loc = loc;
    return b.emit(op, type, std::move(operands), imm);
  }
  Instr &lastInstr() { return f.block(cur).instrs.back(); }
  ValueId constInt(int64_t v) { return emit(Op::ConstInt, types().intType(), {}, {}, v); }
  ValueId constBool(bool v) { return emit(Op::ConstBool, types().boolType(), {}, {}, v); }
  ValueId unitValue() { return emit(Op::Tuple, types().unitType(), {}); }
  bool terminated() const {
    const Block &b = f.block(cur);
    return !b.instrs.empty() && isTerminator(b.instrs.back().op);
  }
  void branch(BlockId target, std::vector<ValueId> args) { here().br(target, std::move(args)); }
  void condBranch(ValueId cond, BlockId t, std::vector<ValueId> targs, BlockId e,
                  std::vector<ValueId> eargs) {
    here().condBr(cond, t, std::move(targs), e, std::move(eargs));
  }
  void ret(ValueId v) { here().ret(v); }
  void unreachable() { here().unreachable(); }
  /// Continues lowering in a fresh block no branch reaches (after return,
  /// break, continue or exit); simplifyBlockArgs drops it.
  void startDeadBlock() { cur = f.addBlock("dead"); }

  // --- Mutable variables across control flow ---
  bool isMutable(const Decl *d) const {
    if (auto *v = dynCast<VarDecl>(d))
      return v->isMutable;
    if (auto *p = dynCast<ParamDecl>(d))
      return p->isInout;
    return false;
  }
  std::vector<const Decl *> mutables() const {
    std::vector<const Decl *> out;
    for (auto &[d, v] : env.vars)
      if (isMutable(d))
        out.push_back(d);
    return out;
  }
  std::vector<ValueId> valuesOf(const std::vector<const Decl *> &decls) const {
    std::vector<ValueId> out;
    for (const Decl *d : decls)
      out.push_back(env.get(d));
    return out;
  }
  /// Gives `block` one argument per decl and binds the decls to them.
  void bindBlockArgs(BlockId block, const std::vector<const Decl *> &decls) {
    for (const Decl *d : decls) {
      ValueId arg = f.addValue(f.typeOf(env.get(d)), d->name);
      f.block(block).args.push_back(arg);
      env.set(d, arg);
    }
  }

  // --- Statements ---
  void lowerBlock(const BlockStmt *block);
  void lowerStmt(const Stmt *stmt);
  void lowerLet(const LetStmt *let);
  void bindPattern(const Pattern *p, ValueId v);
  void lowerAssign(const AssignStmt *a);
  void lowerIf(const IfStmt *s);
  void lowerWhile(const WhileStmt *s);
  void lowerFor(const ForInStmt *s);
  void lowerReturn(const ReturnStmt *s);
  ValueId packResult(ValueId result);

  // --- Expressions ---
  ValueId lowerExpr(const Expr *e);
  ValueId lowerLiteralFloat(double v, const Type *t, SourceLoc loc) {
    ValueId r = emit(Op::ConstFloat, t, {}, loc);
    lastInstr().fimm = v;
    return r;
  }
  ValueId lowerBinary(const BinaryExpr *b);
  ValueId lowerShortCircuit(const BinaryExpr *b);
  ValueId lowerTernary(const TernaryExpr *t);
  ValueId lowerCall(const CallExpr *c);
  ValueId lowerBuiltin(const CallExpr *c);
  ValueId lowerLambdaValue(const LambdaExpr *lambda);
  ValueId lowerFunctionValue(const FuncDecl *fn);
  /// Calls `callee` with the receiver (if any) and arguments, writing inout
  /// results back. Returns the call's declared result.
  ValueId emitCall(FuncId callee, const CallExpr *c, const Expr *receiver, bool implicitSelf,
                   bool mutatingReceiver);

  // --- Tensors (LowerTensor.cpp) ---
  ValueId tensorOp(TensorOp op, const Type *type, std::vector<ValueId> operands, SourceLoc loc = {}) {
    return emit(Op::Tensor, type, std::move(operands), loc, int64_t(op));
  }
  /// Whether the builtin call `c` is a tensor operation (sema decided).
  bool isTensorCall(const CallExpr *c) const;
  ValueId lowerTensorCall(const CallExpr *c);
  ValueId lowerTensorBinary(const BinaryExpr *b);
  ValueId lowerTensorProperty(const MemberExpr *m);
  ValueId lowerTensorIndex(const IndexExpr *ix, const sema::TensorType *base);
  /// `v` as a tensor of type t: itself, or a scalar made a rank-0 tensor.
  ValueId toTensor(ValueId v, const Type *t, SourceLoc loc);
  /// save(model, path) / load(&model, path) (Note [Model files]).
  ValueId lowerModelFile(const CallExpr *c);
  /// The model values in `v` of type t: (field path, tensor) pairs appended to
  /// `out`, scalars made rank-0 tensors.
  void modelValues(ValueId v, const Type *t, const std::string &path,
                   std::vector<std::pair<std::string, ValueId>> &out, SourceLoc loc);
  /// `v` with its model values replaced by loaded[next], loaded[next + 1], ...
  ValueId withModelValues(ValueId v, const Type *t, const std::vector<ValueId> &loaded, size_t &next,
                          SourceLoc loc);

  // --- Tangent arithmetic (LowerTangent.cpp) ---
  ValueId loopRange(ValueId n, ValueId init, const std::function<ValueId(ValueId, ValueId)> &body);
  ValueId elementOrZero(ValueId array, ValueId i);
  /// zerosLike(like): zeros of tangent type t, arrays as long as like's.
  ValueId tangentZero(const Type *t, ValueId like);
  /// asTangent(x): the differentiable fields of x as a value of tangent type t.
  ValueId tangentProject(const Type *t, ValueId x);
  ValueId tangentFieldwise(Op op, ValueId a, ValueId b, const Type *t);
  ValueId tangentDot(ValueId a, ValueId b, const Type *scalar);
  ValueId moveBy(ValueId s, ValueId t);

  // --- Places ---
  LValue lvalueOf(const Expr *e);
  ValueId readLValue(const LValue &lv);
  void writeLValue(const LValue &lv, ValueId v);
  const Decl *selfDecl() const { return self; }

  ModuleLowerer &m;
  Function &f;
  BlockId cur;
  Env env;
  std::vector<LoopTargets> loops;
  const Decl *self = nullptr;         // the receiver parameter of a method or init
  std::vector<const Decl *> inouts;   // inout parameters in order (self first when mutating)
  const Type *declaredResult = nullptr;
  bool isInit = false;
};

} // namespace dlc::ir::lowering
