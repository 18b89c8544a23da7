// Private to ad/: the builder of generated DIR, the tangent-space helpers,
// activity analysis, and the state of one differentiate() run.
#pragma once

#include "ad/AD.h"
#include "ir/Builder.h"

#include "frontend/Assert.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace dlc::ad {

using ir::BlockId;
using ir::Builder;
using ir::unreachableInstr;
using ir::FuncId;
using ir::Function;
using ir::Instr;
using ir::Module;
using ir::Op;
using ir::ValueId;
using sema::Type;
using sema::TypeKind;

// --- Tensor operations (TensorRules.cpp) ---
/// Whether the `tensor.*` instruction's result is a differentiable function
/// of its differentiable operands.
bool tensorPropagates(const Instr &in);
bool tensorZeroAlmostEverywhere(const Instr &in);
/// Operands that only give a shape or a condition.
bool tensorControlOperand(const Instr &in, size_t i);
/// The operation as the user wrote it, for reports.
const char *tensorOpSpelling(const Instr &in);
/// The rule written in DL (stdlib/derivatives.dl) for `in`, whose operand i
/// has type operandType(i), or an invalid id when the compiler's own rule
/// below applies (Note [Derivative rules in DL] in sema/DerivativeRules.cpp).
FuncId tensorRuleFor(const ir::Module &m, const Instr &in,
                     const std::function<const Type *(size_t)> &operandType, bool vjp);
/// The primal operands (indices) the adjoint rule reads; `result` is set
/// when it reads the primal result too (a DL @vjp taking `result`).
void tensorAdjointNeeds(const ir::Module &m, const std::function<const Type *(size_t)> &operandType,
                        const Instr &in, std::vector<size_t> &operands, bool &result);
/// Forward mode: the tangent of `in`'s result `r`. A(i): primal operand,
/// T(i): its tangent (zero when inactive), on(i): whether it is active.
ValueId tensorTangent(Builder &b, const Instr &in, const std::function<ValueId(size_t)> &A,
                      const std::function<ValueId(size_t)> &T,
                      const std::function<bool(size_t)> &on, ValueId r);
/// Reverse mode: accumulates into each active operand its adjoint given the
/// result's adjoint g.
/// R: the primal result (only called when tensorAdjointNeeds said so).
void tensorAdjoint(Builder &b, const Instr &in, const std::function<ValueId(size_t)> &A,
                   const std::function<ValueId()> &R, const std::function<bool(size_t)> &on,
                   const std::function<const Type *(size_t)> &operandType, ValueId g,
                   const std::function<void(size_t, ValueId)> &accum);

/// Which values of a function carry derivatives for one request.
struct Activity {
  std::vector<bool> varied; // depends (through differentiable data) on a differentiated parameter
  std::vector<bool> useful; // the result depends on it through differentiable data
  std::vector<bool> reachable; // per block
  bool active(ValueId v) const { return varied[v.index] && useful[v.index]; }
};

/// One frame of "when differentiating 'f'" context for reports.
struct ReportFrame {
  std::string function;
  SourceLoc loc;
};

/// The state of one differentiate() run: the generated functions, memoized
/// by (function, kind, differentiated parameters).
class Differentiator {
public:
  Differentiator(Module &module, DiagEngine &diags) : module(module), diags(diags) {}

  bool run();

  Module &module;
  DiagEngine &diags;
  sema::TypeContext &types() { return *module.types; }
  bool failed = false;
  std::vector<ReportFrame> frames;

  // --- Requests ---
  /// Replaces the `derivative` instructions of `fn` (and what they need).
  void resolveDerivatives(FuncId fn);
  /// Rewrites `call.closure` of a `closure` made in the same function into a
  /// direct call; splits conditional branches whose two targets coincide.
  void canonicalize(Function &f);
  std::set<uint32_t> resolving, resolved;

  /// The user-facing derivative function for a request (see DerivKind).
  FuncId userDerivative(FuncId fn, DerivKind kind, unsigned constants, SourceLoc loc,
                        const sema::FunctionType *resultType);

  // --- Parameters ---
  using Mask = std::vector<bool>;
  /// The internal mask: every parameter with a tangent type, except @noDerivative ones.
  Mask fullMask(const Function &f);
  /// "" for the full mask, else ".wrt_0_2": keeps generated names unique.
  std::string maskSuffix(const Function &f, const Mask &mask);
  static bool isNoDerivative(const Function &f, size_t i) {
    return i < f.noDerivative.size() && f.noDerivative[i];
  }
  /// Checks the @differentiable contracts (§5.3).
  void checkContracts();
  /// The tuple of parameter tangents F's pullback returns: the tangent of each
  /// masked parameter, `()` for the others.
  const Type *paramTangentsType(const Function &f, const Mask &mask);
  const Type *tangentOrUnit(const Type *t) {
    const Type *tt = types().tangentType(t);
    return tt ? tt : types().unitType();
  }

  // --- Activity and reports (Activity.cpp) ---
  Activity analyze(const Function &f, const Mask &mask);
  /// Reports non-differentiable operations on active values. Returns false on error.
  bool checkDifferentiable(const Function &f, const Activity &act);
  /// Values the result depends on through data of any type (not through
  /// branch conditions, indices or stopGradient).
  std::vector<bool> dataNeeded(const Function &f, const Activity &act);
  /// Warns for each masked parameter the result cannot depend on (§5.5).
  void warnZeroGradients(const Function &f, const Mask &mask, SourceLoc loc);
  void reportNotDifferentiable(SourceLoc loc, const std::string &what);
  std::set<std::tuple<uint32_t, uint32_t, uint32_t>> warnedZero; // one warning per location
  bool inSameCycle(FuncId caller, FuncId callee);
  std::map<uint32_t, std::set<uint32_t>> callees; // the call graph, built on demand
  const std::set<uint32_t> &calleesOf(FuncId f);

  // --- Forward mode (Forward.cpp) ---
  /// F.jvp: (params..., tangents of masked params...) -> (result, result tangent).
  FuncId jvp(FuncId fn, const Mask &mask);
  std::map<std::pair<uint32_t, Mask>, FuncId> jvps;

  // --- Reverse mode (Reverse.cpp) ---
  struct ReverseFns {
    FuncId fwd; // (params...) -> (result, tape)
    FuncId bwd; // (params..., tape, result tangent) -> parameter tangents
  };
  ReverseFns reverse(FuncId fn, const Mask &mask);
  /// fwd/bwd of a function with a registered @vjp.
  ReverseFns customReverse(FuncId fn, const Mask &mask);
  /// F.vjpFull: (params..., result tangent) -> parameter tangents; used for
  /// calls inside a recursive cycle, whose tapes cannot nest.
  FuncId vjpFull(FuncId fn, const Mask &mask);
  std::map<std::pair<uint32_t, Mask>, ReverseFns> reverses;
  std::map<std::pair<uint32_t, Mask>, FuncId> vjpFulls;
  std::set<std::pair<uint32_t, Mask>> reversing; // being generated (cycle detection)
  /// vjpFull bodies are generated after the request that asked for them, so
  /// that mutually recursive functions do not re-enter reverse().
  std::vector<std::pair<FuncId, Mask>> pendingVjpFull;
  void emitPendingVjpFull();
  std::map<std::tuple<uint32_t, int, unsigned>, FuncId> userDerivatives;

  /// Reserves a function slot so recursive requests can call it.
  FuncId reserve(const std::string &name, const sema::FunctionType *type, SourceLoc loc);
  void install(FuncId id, Function f);
};

/// The reachable blocks, each after the blocks that dominate it.
std::vector<size_t> reversePostorder(const Function &f);

/// The name of parameter i ("" for an extern function).
std::string paramName(const Function &f, size_t i);

/// A source-level name for messages, quoted: "'f'", "'Point.norm'", "the lambda in 'main'".
std::string displayName(const std::string &irName);

} // namespace dlc::ad
