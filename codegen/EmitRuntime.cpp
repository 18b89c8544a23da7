// The runtime interface of generated code: declarations of the dlrt_* C
// functions (runtime/dlrt.h) with their attributes, constant strings (C
// strings for locations, immortal DlString literals), cold failure paths and
// address arithmetic on runtime objects.
#include "codegen/Lowering.h"

#include "runtime/dlrt.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/MDBuilder.h>

namespace dlc::codegen {

namespace {
/// What a runtime function may do besides returning, so the optimizer can
/// keep DL values in registers across calls into the runtime.
enum class Effects {
  Any,       // no promise
  Private,   // touches only the runtime's own state (output buffers, argv)
  ReadArgs,  // reads through its pointer arguments, and its own state
  Allocates, // returns fresh memory (noalias) after reading its arguments
  Fails,     // noreturn + cold: dlrt_fail_* and dlrt_exit
};

struct RtSignature {
  const char *name;
  llvm::FunctionType *type;
  Effects effects;
  bool boolParam0 = false; // the first parameter is a C `bool` (zeroext i1)
};

RtSignature signatureOf(RtFn fn, llvm::LLVMContext &ctx) {
  llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
  llvm::Type *i1 = llvm::Type::getInt1Ty(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *f32 = llvm::Type::getFloatTy(ctx);
  llvm::Type *f64 = llvm::Type::getDoubleTy(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto fnTy = [](llvm::Type *r, std::vector<llvm::Type *> ps) {
    return llvm::FunctionType::get(r, ps, false);
  };
  switch (fn) {
  case RtFn::Init:
    return {"dlrt_init", fnTy(voidTy, {i32, ptr}), Effects::Any};
  case RtFn::Finish:
    return {"dlrt_finish", fnTy(i32, {i64}), Effects::Any};
  case RtFn::Exit:
    return {"dlrt_exit", fnTy(voidTy, {i64}), Effects::Fails};
  case RtFn::PrintInt:
    return {"dlrt_print_int", fnTy(voidTy, {i64}), Effects::Private};
  case RtFn::PrintFloat:
    return {"dlrt_print_float", fnTy(voidTy, {f32}), Effects::Private};
  case RtFn::PrintDouble:
    return {"dlrt_print_double", fnTy(voidTy, {f64}), Effects::Private};
  case RtFn::PrintBool:
    return {"dlrt_print_bool", fnTy(voidTy, {i1}), Effects::Private, true};
  case RtFn::PrintString:
    return {"dlrt_print_string", fnTy(voidTy, {ptr}), Effects::ReadArgs};
  case RtFn::PrintStringQuoted:
    return {"dlrt_print_string_quoted", fnTy(voidTy, {ptr}), Effects::ReadArgs};
  case RtFn::PrintCStr:
    return {"dlrt_print_cstr", fnTy(voidTy, {ptr}), Effects::ReadArgs};
  case RtFn::PrintNewline:
    return {"dlrt_print_newline", fnTy(voidTy, {}), Effects::Private};
  case RtFn::StringConcat:
    return {"dlrt_string_concat", fnTy(ptr, {ptr, ptr}), Effects::Allocates};
  case RtFn::StringCompare:
    return {"dlrt_string_compare", fnTy(i64, {ptr, ptr}), Effects::ReadArgs};
  case RtFn::ArrayNew:
    return {"dlrt_array_new", fnTy(ptr, {i64, i64}), Effects::Allocates};
  case RtFn::ArrayClone:
    return {"dlrt_array_clone", fnTy(ptr, {ptr, i64}), Effects::Allocates};
  case RtFn::ArrayRepeat:
    return {"dlrt_array_repeat", fnTy(ptr, {ptr, i64, i64, ptr}), Effects::Allocates};
  case RtFn::ArrayReserve: // may return its argument: not noalias
    return {"dlrt_array_reserve", fnTy(ptr, {ptr, i64}), Effects::Any};
  case RtFn::ArrayGrow1: // may return its argument: not noalias
    return {"dlrt_array_grow1", fnTy(ptr, {ptr}), Effects::Any};
  case RtFn::ArrayMaterialize:
    // Returns its operand (retained) or a new padded copy.
    return {"dlrt_array_materialize", fnTy(ptr, {ptr, i64}), Effects::Any};
  case RtFn::ArrayFree:
    return {"dlrt_array_free", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::ArrayRetain:
    return {"dlrt_array_retain", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::ArrayRelease:
    return {"dlrt_array_release", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::ClosureRetain:
    return {"dlrt_closure_retain", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::ClosureRelease:
    return {"dlrt_closure_release", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::StringRetain:
    return {"dlrt_string_retain", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::StringRelease:
    return {"dlrt_string_release", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::Free:
    return {"dlrt_free", fnTy(voidTy, {ptr}), Effects::Any};
  case RtFn::Alloc:
    return {"dlrt_alloc", fnTy(ptr, {i64}), Effects::Allocates};
  case RtFn::Args: // may return the same array each time: not noalias
    return {"dlrt_args", fnTy(ptr, {}), Effects::Private};
  case RtFn::Environment: // a new string each call
    return {"dlrt_environment", fnTy(ptr, {ptr}), Effects::Allocates};
  case RtFn::Clock:
    return {"dlrt_clock", fnTy(f64, {}), Effects::Private};
  case RtFn::FailIndex:
    return {"dlrt_fail_index", fnTy(voidTy, {ptr, i64, i64}), Effects::Fails};
  case RtFn::FailDivZero:
    return {"dlrt_fail_div_zero", fnTy(voidTy, {ptr}), Effects::Fails};
  case RtFn::FailOverflow:
    return {"dlrt_fail_overflow", fnTy(voidTy, {ptr, ptr}), Effects::Fails};
  case RtFn::FailAssert:
    return {"dlrt_fail_assert", fnTy(voidTy, {ptr, ptr}), Effects::Fails};
  case RtFn::FailConvert:
    return {"dlrt_fail_convert", fnTy(voidTy, {ptr, f64}), Effects::Fails};
  }
  return {"dlrt_unknown", fnTy(voidTy, {}), Effects::Any};
}

void addEffects(llvm::Function *fn, Effects effects) {
  using llvm::MemoryEffects;
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  switch (effects) {
  case Effects::Any:
    return;
  case Effects::Private:
    fn->setMemoryEffects(MemoryEffects::inaccessibleMemOnly());
    return;
  case Effects::ReadArgs:
    fn->setMemoryEffects(MemoryEffects::argMemOnly(llvm::ModRefInfo::Ref) |
                         MemoryEffects::inaccessibleMemOnly());
    return;
  case Effects::Allocates:
    fn->setMemoryEffects(MemoryEffects::argMemOnly(llvm::ModRefInfo::Ref) |
                         MemoryEffects::inaccessibleMemOnly());
    fn->addRetAttr(llvm::Attribute::NoAlias);
    fn->addRetAttr(llvm::Attribute::NonNull);
    return;
  case Effects::Fails:
    fn->addFnAttr(llvm::Attribute::NoReturn);
    fn->addFnAttr(llvm::Attribute::Cold);
    return;
  }
}
} // namespace

llvm::FunctionCallee Lowering::runtime(RtFn which) {
  RtSignature sig = signatureOf(which, ctx);
  if (llvm::Function *existing = mod.getFunction(sig.name))
    return {sig.type, existing};
  auto *fn = llvm::Function::Create(sig.type, llvm::GlobalValue::ExternalLinkage, sig.name, mod);
  addEffects(fn, sig.effects);
  if (sig.boolParam0)
    fn->addParamAttr(0, llvm::Attribute::ZExt);
  return {sig.type, fn};
}

llvm::Constant *Lowering::cString(std::string_view text) {
  auto it = cStrings.find(text);
  if (it != cStrings.end())
    return it->second;
  llvm::Constant *init = llvm::ConstantDataArray::getString(ctx, llvm::StringRef(text), true);
  auto *gv = new llvm::GlobalVariable(mod, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                      init, ".str");
  gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  gv->setAlignment(llvm::Align(1));
  cStrings.emplace(std::string(text), gv);
  return gv;
}

llvm::Constant *Lowering::locString(SourceLoc loc) {
  return cString(dir.sources ? dir.sources->describe(loc) : std::string("<unknown>"));
}

llvm::Constant *Lowering::stringLiteral(std::string_view text) {
  auto it = stringLiterals.find(text);
  if (it != stringLiterals.end())
    return it->second;
  // DlString { refcount = DLRT_IMMORTAL, length, data[length + 1] }.
  llvm::Constant *bytes = llvm::ConstantDataArray::getString(ctx, llvm::StringRef(text), true);
  llvm::Constant *init =
      llvm::ConstantStruct::getAnon(ctx, {llvm::ConstantInt::get(i64(), uint64_t(DLRT_IMMORTAL)),
                                          llvm::ConstantInt::get(i64(), text.size()), bytes});
  auto *gv = new llvm::GlobalVariable(mod, init->getType(), true, llvm::GlobalValue::PrivateLinkage,
                                      init, ".dlstr");
  gv->setAlignment(llvm::Align(16));
  stringLiterals.emplace(std::string(text), gv);
  return gv;
}

void Lowering::emitFailIf(Builder &b, llvm::Value *cond, llvm::function_ref<void(Builder &)> fail) {
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  auto *failBlock = llvm::BasicBlock::Create(ctx, "fail", fn);
  auto *cont = llvm::BasicBlock::Create(ctx, "ok", fn);
  llvm::MDBuilder md(ctx);
  b.CreateCondBr(cond, failBlock, cont, md.createUnlikelyBranchWeights());
  b.SetInsertPoint(failBlock);
  fail(b);
  b.CreateUnreachable();
  b.SetInsertPoint(cont);
}

llvm::Value *Lowering::bytePtr(Builder &b, llvm::Value *p, llvm::Value *offset) {
  return b.CreateGEP(b.getInt8Ty(), p, offset);
}

llvm::Value *Lowering::bytePtr(Builder &b, llvm::Value *p, uint64_t offset) {
  return b.CreateConstGEP1_64(b.getInt8Ty(), p, offset);
}

llvm::Value *Lowering::arrayElementPtr(Builder &b, llvm::Value *array, llvm::Value *index,
                                       llvm::Type *elemTy) {
  llvm::Value *elems = bytePtr(b, array, kArrayHeaderSize);
  llvm::Value *offset = b.CreateMul(index, b.getInt64(allocSize(elemTy)), "", true, true);
  return bytePtr(b, elems, offset);
}

// Two scalar type nodes under one root: TBAA lets accesses tagged with
// different ones be reordered, and the runtime's C code never sees the tags.
llvm::Value *Lowering::tagArrayAccess(llvm::Value *access, bool header) {
  if (!tbaaHeader) {
    llvm::MDBuilder md(ctx);
    llvm::MDNode *root = md.createTBAARoot("dlc arrays");
    llvm::MDNode *headerType = md.createTBAAScalarTypeNode("array header", root);
    llvm::MDNode *elementType = md.createTBAAScalarTypeNode("array element", root);
    tbaaHeader = md.createTBAAStructTagNode(headerType, headerType, 0);
    tbaaElement = md.createTBAAStructTagNode(elementType, elementType, 0);
  }
  if (auto *inst = llvm::dyn_cast<llvm::Instruction>(access))
    inst->setMetadata(llvm::LLVMContext::MD_tbaa, header ? tbaaHeader : tbaaElement);
  return access;
}

} // namespace dlc::codegen
