// Private to codegen/: the state shared by the files that lower DIR to LLVM IR.
// LowerModule.cpp drives it (declarations, bodies, trampolines, the C `main`);
// TypeLowering.cpp, EmitRuntime.cpp, EmitPrint.cpp and EmitFunction.cpp each
// implement one concern of the `Lowering` class below. Never included outside codegen/.
#pragma once

#include "frontend/Diagnostics.h"
#include "ir/IR.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace dlc::codegen {

/// Lowers `module` into a new LLVM module laid out for `dataLayout` and
/// `triple`. Returns null after reporting err_codegen through `diags`.
std::unique_ptr<llvm::Module> lowerToLLVM(const ir::Module &module, llvm::LLVMContext &ctx,
                                          const llvm::DataLayout &dataLayout,
                                          const std::string &triple, DiagEngine &diags);

/// The runtime functions generated code calls (runtime/dlrt.h).
enum class RtFn {
  Init,
  Finish,
  Exit,
  PrintInt,
  PrintFloat,
  PrintDouble,
  PrintBool,
  PrintString,
  PrintStringQuoted,
  PrintCStr,
  PrintNewline,
  StringConcat,
  StringCompare,
  ArrayNew,
  ArrayClone,
  ArrayRepeat,
  ArrayReserve,
  ArrayGrow1,
  ArrayMaterialize,
  ArrayFree,
  ArrayRetain,
  ArrayRelease,
  ClosureRetain,
  ClosureRelease,
  StringRetain,
  StringRelease,
  Free,
  Alloc,
  Args,
  Environment,
  Clock,
  FailIndex,
  FailDivZero,
  FailOverflow,
  FailAssert,
  FailConvert,
};

using Builder = llvm::IRBuilder<>;

/// The runtime's code (DLRT_NEG..., DLRT_ADD...) of an elementwise tensor
/// operation, or -1 (EmitTensor.cpp).
int32_t unaryCode(ir::TensorOp op);
int32_t binaryCode(ir::TensorOp op);
/// The runtime code (DLRT_SUM, …) of a reduction, all or over an axis; -1 for others.
int32_t reduceCode(ir::TensorOp op);

/// Byte offsets into the runtime's objects (runtime/dlrt.h).
constexpr uint64_t kStringDataOffset = 16; // DlString::data
constexpr uint64_t kArrayCountOffset = 8;  // DlArray::count
constexpr uint64_t kArrayCapacityOffset = 16; // DlArray::capacity
constexpr uint64_t kArrayHeaderSize = 32;  // DLRT_ARRAY_HEADER_SIZE

class Lowering {
public:
  Lowering(const ir::Module &dir, llvm::Module &mod, DiagEngine &diags);

  /// Lowers every function; false after an error was reported.
  bool run(); // LowerModule.cpp

  // --- Errors ------------------------------------------------------------------
  /// Reports err_codegen at `loc` (once per distinct message).
  void error(SourceLoc loc, const std::string &message);
  bool failed() const { return hasFailed; }

  // --- TypeLowering.cpp --------------------------------------------------------
  /// The LLVM type of a DIR value of type `t`. Reports and returns i64 for
  /// types codegen cannot handle (tensors), so callers never see null.
  llvm::Type *lower(const sema::Type *t);
  /// `dl.<name>`'s signature: parameters and result by value.
  llvm::FunctionType *functionType(const sema::FunctionType *t);
  /// A closure's code pointer signature: (ptr env, params...) -> result.
  llvm::FunctionType *closureCodeType(const sema::FunctionType *t);
  /// The C signature of an extern function; null (after reporting) when a
  /// parameter or result has no C mapping.
  llvm::FunctionType *externType(const ir::Function &f);
  /// `{ ptr fn, ptr env }`.
  llvm::StructType *closureType();
  llvm::Type *ptrType() { return builderPtrTy; }
  llvm::Type *i64() { return llvm::Type::getInt64Ty(ctx); }
  uint64_t allocSize(llvm::Type *t) const;
  /// The first type inside `t` codegen does not support, or null.
  static const sema::Type *findUnsupported(const sema::Type *t, int depth = 0);

  // --- EmitRuntime.cpp ---------------------------------------------------------
  llvm::FunctionCallee runtime(RtFn fn);
  /// A private constant C string "file:line:col" for runtime errors (deduplicated).
  llvm::Constant *locString(SourceLoc loc);
  /// A private constant C string (deduplicated).
  llvm::Constant *cString(std::string_view text);
  /// A constant, immortal DlString holding `text` (deduplicated).
  llvm::Constant *stringLiteral(std::string_view text);
  /// Branches to a cold block that runs `fail` (which must not return) when
  /// `cond` is true; leaves `b` in the continuation block.
  void emitFailIf(Builder &b, llvm::Value *cond, llvm::function_ref<void(Builder &)> fail);
  /// `p + offset` in bytes.
  llvm::Value *bytePtr(Builder &b, llvm::Value *p, llvm::Value *offset);
  llvm::Value *bytePtr(Builder &b, llvm::Value *p, uint64_t offset);
  /// The address of element `index` of the DlArray `array`.
  llvm::Value *arrayElementPtr(Builder &b, llvm::Value *array, llvm::Value *index,
                               llvm::Type *elemTy);
  /// Tags a load or store of an array's header words (count, capacity) or
  /// of its elements with type-based alias metadata saying the two never
  /// overlap: a loop that stores elements then keeps the count its bounds
  /// checks read in a register instead of reloading it after every store.
  /// Accesses without a tag may alias either.
  llvm::Value *arrayHeaderAccess(llvm::Value *access) { return tagArrayAccess(access, true); }
  llvm::Value *arrayElementAccess(llvm::Value *access) { return tagArrayAccess(access, false); }
  llvm::Value *tagArrayAccess(llvm::Value *access, bool header);

  // --- EmitTensor.cpp ----------------------------------------------------------
  /// The runtime function `name` (a tensor function of runtime/dlrt.h) with
  /// this signature, declared on first use.
  llvm::FunctionCallee tensorRuntime(const char *name, llvm::Type *result,
                                     llvm::ArrayRef<llvm::Type *> params);
  /// Emits `tensor.<op>` (ir/TensorOps.def) on the LLVM operands `ops` of DIR
  /// types `opTypes`; returns the result (DIR type `resultType`).
  llvm::Value *emitTensor(Builder &b, const ir::Instr &in, llvm::ArrayRef<llvm::Value *> ops,
                          llvm::ArrayRef<const sema::Type *> opTypes, const sema::Type *resultType);
  void emitSeed(Builder &b, llvm::Value *n);
  /// Retains or releases every counted reference in `v` (of DIR type t):
  /// tensors, arrays (an array of counted elements through its
  /// arrayReleaseHelper), strings and closures, through tuples and structs.
  void emitRefcount(Builder &b, llvm::Value *v, const sema::Type *t, bool retain);
  /// `dl.release.N(array)`: releases an array of DIR type `t` whose elements
  /// hold counted references, and at its last reference theirs.
  llvm::Function *arrayReleaseHelper(const sema::Type *t);
  /// Retains (or releases) every element of `array` (DIR type `t`) from
  /// index `first` (null: 0) to its count, when its elements hold counted
  /// references: a copy or a repeat holds one more of each, a truncation
  /// drops those it cuts off.
  void elementRefcounts(Builder &b, llvm::Value *array, const sema::Type *t, llvm::Value *first,
                        bool retain);
  void retainElements(Builder &b, llvm::Value *array, const sema::Type *t) {
    elementRefcounts(b, array, t, nullptr, /*retain=*/true);
  }

  // --- EmitFused.cpp -----------------------------------------------------------
  /// `tensor.fused` of function `f`: a call of dlrt_t_fused with the kernel's
  /// descriptor and its compiled loop (Note [Fusion] in ir/Fusion.cpp).
  llvm::Value *emitFused(Builder &b, const ir::Function &f, const ir::Instr &in,
                         llvm::ArrayRef<llvm::Value *> ops);

  // --- EmitPrint.cpp -----------------------------------------------------------
  /// Prints `v` of type `t`; strings are quoted when `nested`.
  void emitPrintValue(Builder &b, llvm::Value *v, const sema::Type *t, bool nested);

  // --- LowerModule.cpp ---------------------------------------------------------
  /// The LLVM function for a DIR function (`dl.<name>` or the extern C symbol).
  llvm::Function *function(ir::FuncId f);
  /// Calls DIR function `f` with DIR-typed `args`, adapting to the C ABI for
  /// externs. Returns the DIR-typed result (the unit value for `()`).
  llvm::Value *emitCall(Builder &b, ir::FuncId f, llvm::ArrayRef<llvm::Value *> args);
  /// `dl.<name>.tramp(env, rest...)`, which unpacks `captures` values from env
  /// and calls `f`.
  llvm::Function *trampoline(ir::FuncId f, size_t captures);
  /// A closure environment: the DlClosureEnv header (refcount, drop), then
  /// the captured values (field kEnvCapturesAt + i).
  llvm::StructType *envType(ir::FuncId f, size_t captures);
  static constexpr unsigned kEnvCapturesAt = 2;
  /// `dl.<name>.drop(env)`: releases the captured values and frees the
  /// environment (Note [Closure ownership] in ir/Ownership.cpp).
  llvm::Function *closureDrop(ir::FuncId f, size_t captures);

  // --- EmitFunction.cpp --------------------------------------------------------
  /// Emits the body of `dl.<name>` for DIR function `f`.
  void emitBody(ir::FuncId f);

  const ir::Module &dir;
  llvm::Module &mod;
  llvm::LLVMContext &ctx;
  DiagEngine &diags;
  const llvm::DataLayout &dataLayout;

private:
  llvm::MDNode *tbaaHeader = nullptr, *tbaaElement = nullptr; // arrayHeaderAccess
  bool hasFailed = false;
  llvm::Type *builderPtrTy;
  std::vector<std::string> reported;
  std::map<const sema::Type *, llvm::Type *> typeCache;
  std::map<const sema::Type *, llvm::Function *> printHelpers;
  std::map<const sema::Type *, llvm::Function *> releaseHelpers; // arrayReleaseHelper
  std::map<std::string, llvm::Constant *, std::less<>> cStrings;
  std::map<std::string, llvm::Constant *, std::less<>> stringLiterals;
  std::map<uint32_t, llvm::Function *> functions;
  std::map<std::pair<uint32_t, size_t>, llvm::Function *> trampolines;
  std::map<std::pair<uint32_t, size_t>, llvm::Function *> closureDrops;
  unsigned printHelperCount = 0;
  unsigned kernelCount = 0;
  std::map<std::pair<const ir::Function *, int32_t>, llvm::Constant *> fusedKernels;

  llvm::Function *printHelper(const sema::Type *t); // EmitPrint.cpp
  void emitPrintBody(llvm::Function *fn, const sema::Type *t);
};

} // namespace dlc::codegen
