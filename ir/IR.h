// DIR: the typed SSA IR shared by lowering (ir/Lower*.cpp), automatic
// differentiation (ad/), optimization and code generation (codegen/).
// Functions are lists of basic blocks with block arguments (no phi nodes);
// values are typed with sema::Type. All values are immutable: aggregates and
// arrays are updated functionally (StructSet, ArraySet), and `inout`
// parameters are passed in and returned out (see Note [Inout lowering]).
#pragma once

#include "frontend/SourceManager.h"
#include "sema/Type.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace dlc::ir {

using sema::Type;

enum class Op : uint8_t {
#define OP(Name, Mnemonic) Name,
#include "ir/IROps.def"
};

/// The sub-operation of an Op::Tensor instruction (its imm).
enum class TensorOp : uint8_t {
#define TOP(Id, Name, Kind) Id,
#include "ir/TensorOps.def"
};
/// The number of tensor operations.
constexpr int64_t kTensorOpCount = 0
#define TOP(Id, Name, Kind) +1
#include "ir/TensorOps.def"
    ;
const char *tensorOpName(TensorOp op);
/// Elementwise unary / binary tensor ops (TensorOps.def kinds Unary, Binary).
bool isTensorUnary(TensorOp op);
bool isTensorBinary(TensorOp op);
inline TensorOp tensorOpOf(int64_t imm) { return TensorOp(imm); }

const char *mnemonic(Op op);
bool isTerminator(Op op);
/// True for instructions that produce no value (Print, Assert, Exit, terminators).
bool hasNoResult(Op op);

/// Index of a value within its Function (Function::values).
struct ValueId {
  uint32_t index = UINT32_MAX;
  bool isValid() const { return index != UINT32_MAX; }
  friend bool operator==(ValueId a, ValueId b) { return a.index == b.index; }
  friend bool operator!=(ValueId a, ValueId b) { return a.index != b.index; }
  friend bool operator<(ValueId a, ValueId b) { return a.index < b.index; }
};

/// Index of a block within its Function (Function::blocks).
struct BlockId {
  uint32_t index = UINT32_MAX;
  bool isValid() const { return index != UINT32_MAX; }
  friend bool operator==(BlockId a, BlockId b) { return a.index == b.index; }
  friend bool operator!=(BlockId a, BlockId b) { return a.index != b.index; }
};

/// Index of a function within its Module (Module::functions).
struct FuncId {
  uint32_t index = UINT32_MAX;
  bool isValid() const { return index != UINT32_MAX; }
  friend bool operator==(FuncId a, FuncId b) { return a.index == b.index; }
};

struct ValueInfo {
  const Type *type = nullptr;
  std::string name; // a hint for the printer (source variable name); may be empty
};

/// A branch target: the block and the values passed to its arguments.
struct Target {
  BlockId block;
  std::vector<ValueId> args;
};

struct Instr {
  Op op;
  ValueId result; // invalid for instructions without a result
  std::vector<ValueId> operands;
  std::vector<Target> targets; // Br: 1, CondBr: 2, others: 0
  int64_t imm = 0;             // ConstInt, ConstBool, field/element index
  double fimm = 0;             // ConstFloat
  std::string str;             // ConstString
  FuncId callee;               // Call, MakeClosure
  // Elementwise `tensor` ops: 1 + the operand whose buffer the result may
  // take because this is its last use (0: none); set by ir/Ownership.cpp.
  uint8_t reuse = 0;
  /// A `tensor.fused` with several outputs (FusedKernel::extraOutputs):
  /// element j is 1 + the operand whose buffer output j + 1 may take (0:
  /// none); `reuse` is output 0's. Set by ir/Ownership.cpp.
  std::vector<uint8_t> extraReuse;
  int32_t kernel = -1;         // `tensor.fused`: its index in Function::kernels
  SourceLoc loc;               // for runtime errors and debugging
};

/// A fused elementwise kernel (ir/Fusion.cpp, Note [Fusion]): nodes in
/// evaluation order, the last one the result. An operand >= 0 is an earlier
/// node, < 0 the input -1 - k (operand k of the `tensor.fused` instruction).
struct FusedNode {
  /// An elementwise unary or binary operation on the kernel's type; a
  /// comparison (a Bool value, read only by a `where` node); or `where`,
  /// whose condition `a` is a comparison node and whose values are b and c.
  TensorOp op;
  int a = 0, b = 0, c = 0; // operands (b unused for unary ones, c but by where)
  SourceLoc loc;           // of the operation it replaces, for its runtime errors
};
/// The operands a kernel node reads: 1, 2, or 3 for `where`.
inline int fusedArity(TensorOp op) {
  return op == TensorOp::Where ? 3 : isTensorBinary(op) ? 2 : 1;
}
struct FusedKernel {
  const Type *type = nullptr; // Tensor<Float> or Tensor<Double>: inputs and result
  unsigned inputs = 0;
  std::vector<FusedNode> nodes;
  /// SumAll, MeanAll, MaxAll, MinAll or LogSumExpAll: the instruction's
  /// result is the last node's tensor reduced to its element scalar; the
  /// Axis forms: reduced over one axis, the instruction's last two operands
  /// being the axis and keepDims.
  /// The tensor is never materialized (Note [Fused reductions]). Fused: the
  /// result is the tensor itself.
  TensorOp reduce = TensorOp::Fused;
  /// Nodes whose values are results too (Note [Fused outputs]): the
  /// instruction's result is then the tuple (last node, extraOutputs...),
  /// every element of `type`. Never with `reduce`.
  std::vector<int> extraOutputs;
  unsigned outputs() const { return 1 + unsigned(extraOutputs.size()); }
  bool reduces() const { return reduce != TensorOp::Fused; }
  bool reducesAxis() const {
    return reduce == TensorOp::SumAxis || reduce == TensorOp::MeanAxis ||
           reduce == TensorOp::MaxAxis || reduce == TensorOp::MinAxis ||
           reduce == TensorOp::LogSumExpAxis;
  }
};

struct Block {
  std::vector<ValueId> args;
  std::vector<Instr> instrs; // the last one is the terminator
  std::string name;          // a hint for the printer ("entry", "loop", "exit")
};

struct Function {
  std::string name;                   // unique in the module: "square", "Point.norm", "main.lambda0"
  const sema::FunctionType *type = nullptr; // parameters -> result
  std::vector<Block> blocks;          // blocks[0] is the entry; its args are the parameters
  std::vector<ValueInfo> values;
  bool isExtern = false;              // a C function: no blocks, called by `externSymbol`
  std::string externSymbol;
  bool isEntry = false;               // the program's `fn main()`
  /// A REPL line: every parameter is inout, and codegen wraps it in
  /// `void __dl_repl_entry(void **slots)` (see driver/Repl.cpp).
  bool isReplLine = false;
  /// A derivative rule of stdlib/derivatives.dl: inlined where AD calls it
  /// and dropped when nothing does (ir/Inline.cpp).
  bool isRule = false;
  bool ruleTakesResult = false; // a @vjp rule taking the operation's result before the seed
  SourceLoc loc;

  // Differentiation (see ad/AD.h).
  FuncId customVJP, customJVP;        // a registered @vjp / @jvp, replacing the body's
  std::vector<bool> noDerivative;     // per parameter (empty: none is @noDerivative)
  bool hasContract = false;           // @differentiable: checked at the definition
  std::vector<bool> contractWrt;      // per parameter
  SourceLoc contractLoc;

  std::vector<FusedKernel> kernels;   // of its `tensor.fused` instructions

  ValueId addValue(const Type *type, std::string name = {});
  BlockId addBlock(std::string name = {});
  const Type *typeOf(ValueId v) const { return values[v.index].type; }
  Block &block(BlockId b) { return blocks[b.index]; }
  const Block &block(BlockId b) const { return blocks[b.index]; }
};

struct Module {
  std::vector<Function> functions;
  sema::TypeContext *types = nullptr;
  const SourceManager *sources = nullptr; // for locations in runtime errors

  /// Derivative rules written in DL (Note [Derivative rules in DL] in
  /// sema/DerivativeRules.cpp), by operation, element type and mode.
  std::map<std::tuple<TensorOp, const Type *, bool>, FuncId> tensorRules;
  /// The @vjp (or @jvp) rule of `op` on tensors of `element`, or an invalid id.
  FuncId tensorRule(TensorOp op, const Type *element, bool vjp) const;

  FuncId addFunction(Function f);
  Function &function(FuncId f) { return functions[f.index]; }
  const Function &function(FuncId f) const { return functions[f.index]; }
  /// The function named `name`, or an invalid id.
  FuncId lookup(const std::string &name) const;
};

/// Prints the module in DIR's textual form (`dlc build --emit ir`).
std::string print(const Module &module);
std::string print(const Module &module, const Function &function);

/// How often each value of `f` is read (operands and branch arguments).
std::vector<unsigned> countUses(const Function &f);
/// Erases instructions whose result nobody reads and for which `removable`
/// holds, until none is left (erasing one may leave its operands unread).
void eraseUnused(Function &f, const std::function<bool(const Instr &)> &removable);
/// Replaces every operand and branch argument v of `f` by resolve(v).
void replaceUses(Function &f, const std::function<ValueId(ValueId)> &resolve);

} // namespace dlc::ir

// Note [Inout lowering]
// A function with `inout` parameters (including the receiver of a `mutating`
// method) returns the tuple `(result, inout0, inout1, ...)`: its declared
// result (the unit value `()` when it returns nothing) followed by the final
// value of each inout parameter in order. Its FunctionType's result is that
// tuple. Callers write the returned values back to the argument lvalues. This
// keeps DIR free of memory operations, which keeps AD and the verifier simple.
