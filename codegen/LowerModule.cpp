// DIR module -> LLVM module, in order: check that every type has a lowering,
// declare each function (`dl.<name>`, internal; externs as their C symbol),
// emit the bodies, and wrap the entry function in C's `int main(argc, argv)`.
// Calls (direct, through externs' C ABI) and closure trampolines live here too.
#include "codegen/Lowering.h"
#include "ir/Builder.h"

#include <llvm/IR/Constants.h>

namespace dlc::codegen {

namespace {
/// True when every type in `f` can be lowered; reports the first that cannot.
bool checkTypes(Lowering &l, const ir::Function &f) {
  if (!f.type) {
    l.error(f.loc, "internal error: function '" + f.name + "' has no type");
    return false;
  }
  const sema::Type *bad = Lowering::findUnsupported(f.type);
  for (size_t i = 0; !bad && i < f.values.size(); ++i)
    if (f.values[i].type)
      bad = Lowering::findUnsupported(f.values[i].type);
  if (!bad)
    return true;
  l.error(f.loc, "internal error: '" + f.name + "' uses the error type");
  return false;
}

/// `int main(int argc, char **argv)`: dlrt_init, the entry function, and
/// dlrt_finish with its Int result (0 when it returns anything else).
void emitCMain(Lowering &l, ir::FuncId entryId) {
  const ir::Function &entry = l.dir.function(entryId);
  if (!entry.type->params.empty()) {
    l.error(entry.loc, "'main' must not take parameters");
    return;
  }
  llvm::Function *dlMain = l.function(entryId);
  if (!dlMain)
    return;
  llvm::Type *i32 = llvm::Type::getInt32Ty(l.ctx);
  auto *fnTy = llvm::FunctionType::get(i32, {i32, l.ptrType()}, false);
  auto *cMain = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage, "main", l.mod);
  cMain->addFnAttr(llvm::Attribute::NoUnwind);
  Builder b(llvm::BasicBlock::Create(l.ctx, "entry", cMain));
  b.CreateCall(l.runtime(RtFn::Init), {cMain->getArg(0), cMain->getArg(1)});
  llvm::Value *result = b.CreateCall(dlMain, {});
  llvm::Value *code = entry.type->result->kind == sema::TypeKind::Int ? result : b.getInt64(0);
  b.CreateRet(b.CreateCall(l.runtime(RtFn::Finish), {code}));
}

/// `void __dl_repl_entry(void **slots)` for a REPL line, whose parameters are
/// all inout: loads each parameter from its slot, calls the line, and stores
/// each parameter's new value (Note [Inout lowering]: result element i + 1)
/// back, releasing the tensors of the old one, which the line only borrowed.
void emitReplEntry(Lowering &l, ir::FuncId lineId) {
  const ir::Function &line = l.dir.function(lineId);
  llvm::Function *dlLine = l.function(lineId);
  if (!dlLine)
    return;
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(l.ctx), {l.ptrType()}, false);
  auto *entry = llvm::Function::Create(fnTy, llvm::GlobalValue::ExternalLinkage,
                                       "__dl_repl_entry", l.mod);
  Builder b(llvm::BasicBlock::Create(l.ctx, "entry", entry));
  std::vector<llvm::Value *> slots, args;
  const std::vector<const sema::Type *> &params = line.type->params;
  for (size_t i = 0; i < params.size(); ++i) {
    llvm::Value *slotAddr = b.CreateConstGEP1_64(l.ptrType(), entry->getArg(0), i);
    slots.push_back(b.CreateLoad(l.ptrType(), slotAddr));
    args.push_back(b.CreateLoad(l.lower(params[i]), slots.back()));
  }
  llvm::Value *result = b.CreateCall(dlLine, args);
  for (size_t i = 0; i < params.size(); ++i) {
    llvm::Value *updated = b.CreateExtractValue(result, {unsigned(i + 1)});
    l.emitRefcount(b, args[i], params[i], /*retain=*/false);
    b.CreateStore(updated, slots[i]);
  }
  b.CreateRetVoid();
}
} // namespace

llvm::Function *Lowering::function(ir::FuncId id) {
  auto it = functions.find(id.index);
  if (it != functions.end())
    return it->second;
  const ir::Function &f = dir.function(id);
  llvm::Function *fn = nullptr;
  if (f.isExtern) {
    if (llvm::FunctionType *cTy = externType(f)) {
      llvm::FunctionCallee callee = mod.getOrInsertFunction(f.externSymbol, cTy);
      fn = llvm::dyn_cast<llvm::Function>(callee.getCallee());
      if (!fn)
        error(f.loc, "the extern symbol '" + f.externSymbol + "' clashes with another definition");
    }
  } else if (f.type) {
    fn = llvm::Function::Create(functionType(f.type), llvm::GlobalValue::InternalLinkage,
                                "dl." + f.name, mod);
    fn->addFnAttr(llvm::Attribute::NoUnwind); // DL has no exceptions
  }
  functions[id.index] = fn;
  return fn;
}

llvm::Value *Lowering::emitCall(Builder &b, ir::FuncId id, llvm::ArrayRef<llvm::Value *> args) {
  const ir::Function &f = dir.function(id);
  llvm::Function *fn = function(id);
  if (!fn || !f.type || args.size() != f.type->params.size()) {
    if (fn)
      error(f.loc, "internal error: a call to '" + f.name + "' has the wrong number of arguments");
    return llvm::PoisonValue::get(f.type ? lower(f.type->result) : i64());
  }
  if (!f.isExtern)
    return b.CreateCall(fn->getFunctionType(), fn, args);

  // The C ABI: Bool as zeroext i1, String as `const char *` at its bytes,
  // a unit result as void.
  llvm::FunctionType *cTy = externType(f);
  if (!cTy)
    return llvm::PoisonValue::get(lower(f.type->result));
  std::vector<llvm::Value *> cArgs;
  for (size_t i = 0; i < args.size(); ++i) {
    bool isString = f.type->params[i]->kind == sema::TypeKind::String;
    cArgs.push_back(isString ? bytePtr(b, args[i], kStringDataOffset) : args[i]);
  }
  llvm::CallInst *call = b.CreateCall(cTy, fn, cArgs);
  for (size_t i = 0; i < args.size(); ++i)
    if (f.type->params[i]->kind == sema::TypeKind::Bool)
      call->addParamAttr(unsigned(i), llvm::Attribute::ZExt);
  if (f.type->result->kind == sema::TypeKind::Bool)
    call->addRetAttr(llvm::Attribute::ZExt);
  if (f.type->result->isUnit())
    return llvm::Constant::getNullValue(lower(f.type->result));
  return call;
}

llvm::StructType *Lowering::envType(ir::FuncId id, size_t captures) {
  const ir::Function &f = dir.function(id);
  std::vector<llvm::Type *> fields{i64(), ptrType()}; // DlClosureEnv: refcount, drop
  for (size_t i = 0; i < captures && f.type && i < f.type->params.size(); ++i)
    fields.push_back(lower(f.type->params[i]));
  return llvm::StructType::get(ctx, fields);
}

llvm::Function *Lowering::closureDrop(ir::FuncId id, size_t captures) {
  auto key = std::make_pair(id.index, captures);
  if (auto it = closureDrops.find(key); it != closureDrops.end())
    return it->second;
  const ir::Function &f = dir.function(id);
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrType()}, false);
  auto *drop = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage,
                                      "dl." + f.name + ".drop", mod);
  drop->addFnAttr(llvm::Attribute::NoUnwind);
  closureDrops[key] = drop;
  Builder b(llvm::BasicBlock::Create(ctx, "entry", drop));
  llvm::StructType *envTy = envType(id, captures);
  llvm::Value *env = drop->getArg(0);
  for (size_t i = 0; i < captures && f.type && i < f.type->params.size(); ++i) {
    const sema::Type *t = f.type->params[i];
    if (!ir::isRefcounted(t))
      continue;
    unsigned field = kEnvCapturesAt + unsigned(i);
    emitRefcount(b, b.CreateLoad(envTy->getElementType(field), b.CreateStructGEP(envTy, env, field)),
                 t, /*retain=*/false);
  }
  b.CreateCall(runtime(RtFn::Free), {env});
  b.CreateRetVoid();
  return drop;
}

llvm::Function *Lowering::trampoline(ir::FuncId id, size_t captures) {
  auto key = std::make_pair(id.index, captures);
  auto it = trampolines.find(key);
  if (it != trampolines.end())
    return it->second;
  const ir::Function &f = dir.function(id);
  if (!f.type || captures > f.type->params.size()) {
    error(f.loc, "internal error: a closure of '" + f.name + "' captures too many values");
    return trampolines[key] = nullptr;
  }
  std::vector<llvm::Type *> params{ptrType()};
  for (size_t i = captures; i < f.type->params.size(); ++i)
    params.push_back(lower(f.type->params[i]));
  auto *fnTy = llvm::FunctionType::get(lower(f.type->result), params, false);
  auto *tramp = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage,
                                       "dl." + f.name + ".tramp", mod);
  tramp->addFnAttr(llvm::Attribute::NoUnwind);
  trampolines[key] = tramp;

  Builder b(llvm::BasicBlock::Create(ctx, "entry", tramp));
  std::vector<llvm::Value *> args;
  if (captures) {
    llvm::StructType *envTy = envType(id, captures);
    llvm::Value *env = tramp->getArg(0);
    for (size_t i = 0; i < captures; ++i) {
      unsigned field = kEnvCapturesAt + unsigned(i);
      args.push_back(
          b.CreateLoad(envTy->getElementType(field), b.CreateStructGEP(envTy, env, field)));
    }
  }
  for (unsigned i = 1; i < tramp->arg_size(); ++i)
    args.push_back(tramp->getArg(i));
  b.CreateRet(emitCall(b, id, args));
  return tramp;
}

bool Lowering::run() {
  for (const ir::Function &f : dir.functions)
    if (!checkTypes(*this, f))
      return false;

  for (uint32_t i = 0; i < dir.functions.size(); ++i)
    function(ir::FuncId{i});
  for (uint32_t i = 0; i < dir.functions.size() && !failed(); ++i)
    if (!dir.functions[i].isExtern)
      emitBody(ir::FuncId{i});
  for (uint32_t i = 0; i < dir.functions.size() && !failed(); ++i)
    if (dir.functions[i].isEntry) {
      emitCMain(*this, ir::FuncId{i});
      break;
    }
  for (uint32_t i = 0; i < dir.functions.size() && !failed(); ++i)
    if (dir.functions[i].isReplLine) {
      emitReplEntry(*this, ir::FuncId{i});
      break;
    }
  return !failed();
}

std::unique_ptr<llvm::Module> lowerToLLVM(const ir::Module &module, llvm::LLVMContext &ctx,
                                          const llvm::DataLayout &dataLayout,
                                          const std::string &triple, DiagEngine &diags) {
  auto mod = std::make_unique<llvm::Module>("dl", ctx);
  mod->setDataLayout(dataLayout);
  mod->setTargetTriple(triple);
  Lowering lowering(module, *mod, diags);
  if (!lowering.run())
    return nullptr;
  return mod;
}

} // namespace dlc::codegen
