// Printing of DL values (the `print` instruction): scalars through the
// runtime's dlrt_print_*, aggregates through one generated helper function per
// type (`dl.print.N`), e.g. `(1, 2.5)`, `[1, 2, 3]`, `Point(x: 1, y: 2)`,
// `<function (Float) -> Float>`. Strings inside aggregates print quoted.
#include "codegen/Lowering.h"

namespace dlc::codegen {

using sema::TypeKind;

void Lowering::emitPrintValue(Builder &b, llvm::Value *v, const sema::Type *t, bool nested) {
  switch (t->kind) {
  case TypeKind::Int:
    b.CreateCall(runtime(RtFn::PrintInt), {v});
    return;
  case TypeKind::Float:
    b.CreateCall(runtime(RtFn::PrintFloat), {v});
    return;
  case TypeKind::Double:
    b.CreateCall(runtime(RtFn::PrintDouble), {v});
    return;
  case TypeKind::Bool: {
    llvm::CallInst *call = b.CreateCall(runtime(RtFn::PrintBool), {v});
    call->addParamAttr(0, llvm::Attribute::ZExt);
    return;
  }
  case TypeKind::String:
    b.CreateCall(runtime(nested ? RtFn::PrintStringQuoted : RtFn::PrintString), {v});
    return;
  case TypeKind::Function:
    b.CreateCall(runtime(RtFn::PrintCStr), {cString("<function " + t->str() + ">")});
    return;
  case TypeKind::Tuple:
    if (t->isUnit()) {
      b.CreateCall(runtime(RtFn::PrintCStr), {cString("()")});
      return;
    }
    [[fallthrough]];
  case TypeKind::Array:
  case TypeKind::Struct:
    b.CreateCall(printHelper(t), {v});
    return;
  case TypeKind::Tensor:
    b.CreateCall(tensorRuntime("dlrt_print_tensor", b.getVoidTy(), {ptrType()}), {v});
    return;
  case TypeKind::Error:
    error({}, "internal error: printing a value of the error type");
    return;
  }
}

llvm::Function *Lowering::printHelper(const sema::Type *t) {
  auto it = printHelpers.find(t);
  if (it != printHelpers.end())
    return it->second;
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {lower(t)}, false);
  auto *fn = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage,
                                    "dl.print." + std::to_string(printHelperCount++), mod);
  fn->addFnAttr(llvm::Attribute::NoInline); // keeps call sites small; printing is I/O bound
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  printHelpers[t] = fn; // before the body: recursive types terminate
  emitPrintBody(fn, t);
  return fn;
}

void Lowering::emitPrintBody(llvm::Function *fn, const sema::Type *t) {
  auto *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  Builder b(entry);
  llvm::Value *v = fn->getArg(0);
  auto punct = [&](const std::string &text) {
    b.CreateCall(runtime(RtFn::PrintCStr), {cString(text)});
  };

  if (auto *tuple = sema::asTuple(t)) {
    punct("(");
    for (size_t i = 0; i < tuple->elements.size(); ++i) {
      if (i)
        punct(", ");
      emitPrintValue(b, b.CreateExtractValue(v, {unsigned(i)}), tuple->elements[i], true);
    }
    punct(")");
    b.CreateRetVoid();
    return;
  }

  if (auto *s = sema::asStruct(t)) {
    punct(s->name + "(");
    for (size_t i = 0; i < s->fields.size(); ++i) {
      punct((i ? ", " : "") + s->fields[i].name + ": ");
      emitPrintValue(b, b.CreateExtractValue(v, {unsigned(i)}), s->fields[i].type, true);
    }
    punct(")");
    b.CreateRetVoid();
    return;
  }

  // Arrays: "[" e0 ", " e1 ... "]" with a loop over the elements.
  auto *array = sema::asArray(t);
  llvm::Type *elemTy = lower(array->element);
  punct("[");
  llvm::Value *count = b.CreateLoad(i64(), bytePtr(b, v, kArrayCountOffset), "count");
  auto *loop = llvm::BasicBlock::Create(ctx, "loop", fn);
  auto *body = llvm::BasicBlock::Create(ctx, "body", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "done", fn);
  b.CreateBr(loop);

  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(i64(), 2, "i");
  i->addIncoming(b.getInt64(0), entry);
  b.CreateCondBr(b.CreateICmpSLT(i, count), body, done);

  b.SetInsertPoint(body);
  auto *sep = llvm::BasicBlock::Create(ctx, "sep", fn);
  auto *elem = llvm::BasicBlock::Create(ctx, "elem", fn);
  b.CreateCondBr(b.CreateICmpNE(i, b.getInt64(0)), sep, elem);
  b.SetInsertPoint(sep);
  punct(", ");
  b.CreateBr(elem);
  b.SetInsertPoint(elem);
  llvm::Value *x = b.CreateLoad(elemTy, arrayElementPtr(b, v, i, elemTy));
  emitPrintValue(b, x, array->element, true);
  llvm::Value *next = b.CreateAdd(i, b.getInt64(1), "", true, true);
  i->addIncoming(next, b.GetInsertBlock());
  b.CreateBr(loop);

  b.SetInsertPoint(done);
  punct("]");
  b.CreateRetVoid();
}

} // namespace dlc::codegen
