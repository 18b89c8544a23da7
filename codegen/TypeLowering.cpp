// Type lowering: sema types -> LLVM types. Scalars map to i64/float/double/i1,
// strings and arrays to pointers at runtime objects, closures to {fn, env},
// tuples to literal structs and DL structs to named LLVM structs. Also the
// C signatures of extern functions.
#include "codegen/Lowering.h"

#include <llvm/IR/DerivedTypes.h>

namespace dlc::codegen {

using sema::TypeKind;

Lowering::Lowering(const ir::Module &dir, llvm::Module &mod, DiagEngine &diags)
    : dir(dir), mod(mod), ctx(mod.getContext()), diags(diags), dataLayout(mod.getDataLayout()),
      builderPtrTy(llvm::PointerType::getUnqual(mod.getContext())) {}

void Lowering::error(SourceLoc loc, const std::string &message) {
  hasFailed = true;
  for (const std::string &m : reported)
    if (m == message)
      return;
  reported.push_back(message);
  diags.report(DiagId::err_codegen, loc, {message});
}

llvm::StructType *Lowering::closureType() {
  return llvm::StructType::get(ctx, {builderPtrTy, builderPtrTy});
}

uint64_t Lowering::allocSize(llvm::Type *t) const {
  return dataLayout.getTypeAllocSize(t).getFixedValue();
}

const sema::Type *Lowering::findUnsupported(const sema::Type *t, int depth) {
  if (!t || depth > 64)
    return nullptr;
  switch (t->kind) {
  case TypeKind::Error:
    return t;
  case TypeKind::Tensor:
    return nullptr;
  case TypeKind::Int:
  case TypeKind::Float:
  case TypeKind::Double:
  case TypeKind::Bool:
  case TypeKind::String:
    return nullptr;
  case TypeKind::Tuple:
    for (const sema::Type *e : sema::asTuple(t)->elements)
      if (const sema::Type *bad = findUnsupported(e, depth + 1))
        return bad;
    return nullptr;
  case TypeKind::Array:
    return findUnsupported(sema::asArray(t)->element, depth + 1);
  case TypeKind::Function: {
    auto *f = sema::asFunction(t);
    for (const sema::Type *p : f->params)
      if (const sema::Type *bad = findUnsupported(p, depth + 1))
        return bad;
    return findUnsupported(f->result, depth + 1);
  }
  case TypeKind::Struct:
    // `depth` bounds the walk should an (invalid) struct contain itself.
    for (const auto &f : sema::asStruct(t)->fields)
      if (const sema::Type *bad = findUnsupported(f.type, depth + 1))
        return bad;
    return nullptr;
  }
  return nullptr;
}

llvm::Type *Lowering::lower(const sema::Type *t) {
  if (!t) {
    error({}, "internal error: a value has no type");
    return i64();
  }
  auto it = typeCache.find(t);
  if (it != typeCache.end())
    return it->second;

  llvm::Type *result = nullptr;
  switch (t->kind) {
  case TypeKind::Int:
    result = i64();
    break;
  case TypeKind::Float:
    result = llvm::Type::getFloatTy(ctx);
    break;
  case TypeKind::Double:
    result = llvm::Type::getDoubleTy(ctx);
    break;
  case TypeKind::Bool:
    result = llvm::Type::getInt1Ty(ctx);
    break;
  case TypeKind::String:
  case TypeKind::Array:
  case TypeKind::Tensor: // DlTensor *
    result = builderPtrTy;
    break;
  case TypeKind::Function:
    result = closureType();
    break;
  case TypeKind::Tuple: {
    std::vector<llvm::Type *> elems;
    for (const sema::Type *e : sema::asTuple(t)->elements)
      elems.push_back(lower(e));
    result = llvm::StructType::get(ctx, elems);
    break;
  }
  case TypeKind::Struct: {
    auto *s = sema::asStruct(t);
    // Cache the opaque struct before lowering its fields, so a (invalid)
    // self-referential struct terminates.
    llvm::StructType *st = llvm::StructType::create(ctx, s->name);
    typeCache[t] = st;
    std::vector<llvm::Type *> fields;
    for (const auto &f : s->fields)
      fields.push_back(lower(f.type));
    st->setBody(fields);
    return st;
  }
  case TypeKind::Error:
    error({}, "internal error: a value has the error type");
    return i64();
  }
  typeCache[t] = result;
  return result;
}

llvm::FunctionType *Lowering::functionType(const sema::FunctionType *t) {
  std::vector<llvm::Type *> params;
  for (const sema::Type *p : t->params)
    params.push_back(lower(p));
  return llvm::FunctionType::get(lower(t->result), params, false);
}

llvm::FunctionType *Lowering::closureCodeType(const sema::FunctionType *t) {
  std::vector<llvm::Type *> params{builderPtrTy};
  for (const sema::Type *p : t->params)
    params.push_back(lower(p));
  return llvm::FunctionType::get(lower(t->result), params, false);
}

namespace {
/// The C type of an extern parameter or result; null when there is none.
llvm::Type *cType(llvm::LLVMContext &ctx, const sema::Type *t, bool isResult) {
  switch (t->kind) {
  case TypeKind::Int:
    return llvm::Type::getInt64Ty(ctx);
  case TypeKind::Float:
    return llvm::Type::getFloatTy(ctx);
  case TypeKind::Double:
    return llvm::Type::getDoubleTy(ctx);
  case TypeKind::Bool:
    return llvm::Type::getInt1Ty(ctx);
  case TypeKind::String:
    // `const char *` at DlString::data; a returned C string has no owner.
    return isResult ? nullptr : llvm::PointerType::getUnqual(ctx);
  case TypeKind::Tuple:
    return isResult && t->isUnit() ? llvm::Type::getVoidTy(ctx) : nullptr;
  case TypeKind::Error:
  case TypeKind::Array:
  case TypeKind::Function:
  case TypeKind::Struct:
  case TypeKind::Tensor:
    return nullptr;
  }
  return nullptr;
}
} // namespace

llvm::FunctionType *Lowering::externType(const ir::Function &f) {
  if (!f.type) {
    error(f.loc, "internal error: extern function '" + f.name + "' has no type");
    return nullptr;
  }
  std::vector<llvm::Type *> params;
  for (const sema::Type *p : f.type->params) {
    llvm::Type *c = cType(ctx, p, false);
    if (!c) {
      error(f.loc, "extern function '" + f.name + "' has a parameter of type '" + p->str() +
                       "', which has no C mapping");
      return nullptr;
    }
    params.push_back(c);
  }
  llvm::Type *result = cType(ctx, f.type->result, true);
  if (!result) {
    error(f.loc, "extern function '" + f.name + "' returns '" + f.type->result->str() +
                     "', which has no C mapping");
    return nullptr;
  }
  return llvm::FunctionType::get(result, params, false);
}

} // namespace dlc::codegen
