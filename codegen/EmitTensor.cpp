// Code generation for `tensor.*` instructions (ir/TensorOps.def): each is a
// call into the tensor runtime (runtime/dlrt.h, "Tensors") with the element
// kind and operation codes it expects and the instruction's location for
// shape errors. The zero tangent is the null pointer.
#include "codegen/Lowering.h"

#include "ir/Builder.h"
#include "runtime/dlrt.h"

namespace dlc::codegen {

namespace {

using ir::TensorOp;
using sema::TypeKind;

int32_t kindOf(const sema::Type *t) {
  const sema::Type *e = sema::asTensor(t) ? sema::asTensor(t)->element : t;
  switch (e->kind) {
  case TypeKind::Float:
    return DLRT_F32;
  case TypeKind::Double:
    return DLRT_F64;
  case TypeKind::Int:
    return DLRT_I64;
  default:
    return DLRT_BOOL;
  }
}

} // namespace

int32_t unaryCode(TensorOp op) {
  switch (op) {
  case TensorOp::Neg: return DLRT_NEG;
  case TensorOp::Exp: return DLRT_EXP;
  case TensorOp::Log: return DLRT_LOG;
  case TensorOp::Log1p: return DLRT_LOG1P;
  case TensorOp::Sqrt: return DLRT_SQRT;
  case TensorOp::Rsqrt: return DLRT_RSQRT;
  case TensorOp::Abs: return DLRT_ABS;
  case TensorOp::Sin: return DLRT_SIN;
  case TensorOp::Cos: return DLRT_COS;
  case TensorOp::Tanh: return DLRT_TANH;
  case TensorOp::Sigmoid: return DLRT_SIGMOID;
  case TensorOp::Relu: return DLRT_RELU;
  case TensorOp::Sign: return DLRT_SIGN;
  case TensorOp::Floor: return DLRT_FLOOR;
  case TensorOp::Ceil: return DLRT_CEIL;
  case TensorOp::Round: return DLRT_ROUND;
  case TensorOp::Step: return DLRT_STEP;
  case TensorOp::Not: return DLRT_NOT;
  default: return -1;
  }
}

int32_t binaryCode(TensorOp op) {
  switch (op) {
  case TensorOp::Add: return DLRT_ADD;
  case TensorOp::Sub: return DLRT_SUB;
  case TensorOp::Mul: return DLRT_MUL;
  case TensorOp::Div: return DLRT_DIV;
  case TensorOp::Pow: return DLRT_POW;
  case TensorOp::Min: return DLRT_MIN;
  case TensorOp::Max: return DLRT_MAX;
  case TensorOp::Eq: return DLRT_EQ;
  case TensorOp::Ne: return DLRT_NE;
  case TensorOp::Lt: return DLRT_LT;
  case TensorOp::Le: return DLRT_LE;
  case TensorOp::Gt: return DLRT_GT;
  case TensorOp::Ge: return DLRT_GE;
  case TensorOp::And: return DLRT_AND;
  case TensorOp::Or: return DLRT_OR;
  default: return -1;
  }
}

int32_t reduceCode(TensorOp op) {
  switch (op) {
  case TensorOp::SumAll:
  case TensorOp::SumAxis: return DLRT_SUM;
  case TensorOp::MeanAll:
  case TensorOp::MeanAxis: return DLRT_MEAN;
  case TensorOp::MaxAll:
  case TensorOp::MaxAxis: return DLRT_RMAX;
  case TensorOp::MinAll:
  case TensorOp::MinAxis: return DLRT_RMIN;
  case TensorOp::LogSumExpAll:
  case TensorOp::LogSumExpAxis: return DLRT_LOGSUMEXP;
  case TensorOp::ArgmaxAll:
  case TensorOp::ArgmaxAxis: return DLRT_ARGMAX;
  default: return -1;
  }
}

namespace {

/// The nesting depth of `[[E]]`-style array types.
int32_t arrayDepth(const sema::Type *t) {
  int32_t d = 0;
  while (auto *a = sema::asArray(t)) {
    t = a->element;
    ++d;
  }
  return d;
}

} // namespace

llvm::FunctionCallee Lowering::tensorRuntime(const char *name, llvm::Type *result,
                                             llvm::ArrayRef<llvm::Type *> params) {
  auto *fnTy = llvm::FunctionType::get(result, params, false);
  llvm::FunctionCallee callee = mod.getOrInsertFunction(name, fnTy);
  if (auto *fn = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    fn->addFnAttr(llvm::Attribute::NoUnwind);
    for (unsigned i = 0; i < params.size(); ++i)
      if (params[i]->isIntegerTy(1))
        fn->addParamAttr(i, llvm::Attribute::ZExt);
  }
  return callee;
}

void Lowering::emitSeed(Builder &b, llvm::Value *n) {
  b.CreateCall(tensorRuntime("dlrt_seed", b.getVoidTy(), {b.getInt64Ty()}), {n});
}

void Lowering::emitRefcount(Builder &b, llvm::Value *v, const sema::Type *t, bool retain) {
  switch (t->kind) {
  case TypeKind::Tensor:
    b.CreateCall(tensorRuntime(retain ? "dlrt_t_retain" : "dlrt_t_release", b.getVoidTy(),
                               {ptrType()}),
                 {v});
    return;
  case TypeKind::Array:
    // Note [Array ownership]: an array whose elements hold counted references
    // releases them when it goes, in a helper made per element type.
    if (!retain && ir::isRefcounted(sema::asArray(t)->element))
      b.CreateCall(arrayReleaseHelper(t), {v});
    else
      b.CreateCall(runtime(retain ? RtFn::ArrayRetain : RtFn::ArrayRelease), {v});
    return;
  case TypeKind::String:
    b.CreateCall(runtime(retain ? RtFn::StringRetain : RtFn::StringRelease), {v});
    return;
  case TypeKind::Function:
    // The environment's count (Note [Closure ownership]); NULL without captures.
    b.CreateCall(runtime(retain ? RtFn::ClosureRetain : RtFn::ClosureRelease),
                 {b.CreateExtractValue(v, {1u})});
    return;
  case TypeKind::Tuple: {
    auto *tt = sema::asTuple(t);
    for (unsigned i = 0; i < tt->elements.size(); ++i)
      if (ir::isRefcounted(tt->elements[i]))
        emitRefcount(b, b.CreateExtractValue(v, {i}), tt->elements[i], retain);
    return;
  }
  case TypeKind::Struct: {
    auto *st = sema::asStruct(t);
    for (unsigned i = 0; i < st->fields.size(); ++i)
      if (ir::isRefcounted(st->fields[i].type))
        emitRefcount(b, b.CreateExtractValue(v, {i}), st->fields[i].type, retain);
    return;
  }
  default:
    return;
  }
}

void Lowering::elementRefcounts(Builder &b, llvm::Value *array, const sema::Type *t,
                                llvm::Value *first, bool retain) {
  const sema::Type *elem = sema::asArray(t)->element;
  if (!ir::isRefcounted(elem))
    return;
  llvm::Type *elemTy = lower(elem);
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::BasicBlock *from = b.GetInsertBlock();
  auto *loop = llvm::BasicBlock::Create(ctx, "elements.loop", fn);
  auto *body = llvm::BasicBlock::Create(ctx, "elements.body", fn);
  auto *done = llvm::BasicBlock::Create(ctx, "elements.done", fn);
  llvm::Value *n = arrayHeaderAccess(b.CreateLoad(i64(), bytePtr(b, array, kArrayCountOffset)));
  b.CreateBr(loop);
  b.SetInsertPoint(loop);
  llvm::PHINode *i = b.CreatePHI(i64(), 2, "i");
  i->addIncoming(first ? first : b.getInt64(0), from);
  b.CreateCondBr(b.CreateICmpSLT(i, n), body, done);
  b.SetInsertPoint(body);
  llvm::Value *e = arrayElementAccess(b.CreateLoad(elemTy, arrayElementPtr(b, array, i, elemTy)));
  emitRefcount(b, e, elem, retain);
  i->addIncoming(b.CreateAdd(i, b.getInt64(1)), b.GetInsertBlock());
  b.CreateBr(loop);
  b.SetInsertPoint(done);
}

llvm::Function *Lowering::arrayReleaseHelper(const sema::Type *t) {
  if (auto it = releaseHelpers.find(t); it != releaseHelpers.end())
    return it->second;
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrType()}, false);
  auto *fn = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage,
                                    "dl.release." + std::to_string(releaseHelpers.size()), mod);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  releaseHelpers[t] = fn; // before the body: an array of arrays of this type recurses
  auto block = [&](const char *name) { return llvm::BasicBlock::Create(ctx, name, fn); };
  llvm::BasicBlock *entry = block("entry"), *counted = block("counted"), *shared = block("shared"),
                   *last = block("last"), *out = block("out");
  Builder b(entry);
  llvm::Value *a = fn->getArg(0);
  // NULL: an `undef` never read; refcount < 0: immortal.
  b.CreateCondBr(b.CreateIsNull(a), out, counted);
  b.SetInsertPoint(counted);
  llvm::Value *rc = b.CreateLoad(i64(), a, "rc");
  llvm::Value *one = b.getInt64(1);
  b.CreateCondBr(b.CreateICmpSLE(rc, b.getInt64(0)), out, shared);
  b.SetInsertPoint(shared);
  llvm::BasicBlock *decrement = block("decrement");
  b.CreateCondBr(b.CreateICmpEQ(rc, one), last, decrement);
  b.SetInsertPoint(decrement);
  b.CreateStore(b.CreateSub(rc, one), a);
  b.CreateBr(out);
  b.SetInsertPoint(last);
  elementRefcounts(b, a, t, nullptr, /*retain=*/false);
  b.CreateCall(runtime(RtFn::ArrayFree), {a});
  b.CreateBr(out);
  b.SetInsertPoint(out);
  b.CreateRetVoid();
  return fn;
}

llvm::Value *Lowering::emitTensor(Builder &b, const ir::Instr &in,
                                  llvm::ArrayRef<llvm::Value *> ops,
                                  llvm::ArrayRef<const sema::Type *> opTypes,
                                  const sema::Type *resultType) {
  auto op = ir::tensorOpOf(in.imm);
  llvm::Type *ptr = ptrType();
  llvm::Type *i32 = b.getInt32Ty(), *i64 = b.getInt64Ty(), *f64 = b.getDoubleTy();
  llvm::Type *i1 = b.getInt1Ty();
  llvm::Value *loc = locString(in.loc);
  auto kind = [&](const sema::Type *t) { return b.getInt32(uint32_t(kindOf(t))); };
  auto call = [&](const char *name, llvm::Type *result, llvm::ArrayRef<llvm::Type *> params,
                  llvm::ArrayRef<llvm::Value *> args) -> llvm::Value * {
    return b.CreateCall(tensorRuntime(name, result, params), args);
  };
  // A scalar operand as the double the runtime takes.
  auto asDouble = [&](llvm::Value *v) -> llvm::Value * {
    llvm::Type *t = v->getType();
    if (t->isDoubleTy())
      return v;
    if (t->isFloatTy())
      return b.CreateFPExt(v, f64);
    if (t->isIntegerTy(1))
      return b.CreateUIToFP(v, f64);
    return b.CreateSIToFP(v, f64);
  };
  // A double result as the DIR scalar type.
  auto fromDouble = [&](llvm::Value *d, const sema::Type *t) -> llvm::Value * {
    switch (t->kind) {
    case TypeKind::Float:
      return b.CreateFPTrunc(d, b.getFloatTy());
    case TypeKind::Int:
      return b.CreateFPToSI(d, i64);
    case TypeKind::Bool:
      return b.CreateFCmpONE(d, llvm::ConstantFP::get(f64, 0.0));
    default:
      return d;
    }
  };
  // Indices (operands from `first` on) in a stack array: (count, pointer).
  auto indexArray = [&](size_t first) -> std::pair<llvm::Value *, llvm::Value *> {
    size_t n = ops.size() - first;
    llvm::Function *fn = b.GetInsertBlock()->getParent();
    llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
    llvm::Value *slots = entry.CreateAlloca(llvm::ArrayType::get(i64, std::max<size_t>(n, 1)));
    for (size_t i = 0; i < n; ++i)
      b.CreateStore(ops[first + i], b.CreateConstGEP2_64(
                                        llvm::ArrayType::get(i64, std::max<size_t>(n, 1)), slots, 0, i));
    return {b.getInt64(n), slots};
  };

  // Tensor operands in a stack array: (count, pointer).
  auto pointerArray = [&](llvm::ArrayRef<llvm::Value *> values) -> std::pair<llvm::Value *, llvm::Value *> {
    size_t n = values.size();
    llvm::ArrayType *arrTy = llvm::ArrayType::get(ptr, std::max<size_t>(n, 1));
    llvm::Function *fn = b.GetInsertBlock()->getParent();
    llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
    llvm::Value *slots = entry.CreateAlloca(arrTy);
    for (size_t i = 0; i < n; ++i)
      b.CreateStore(values[i], b.CreateConstGEP2_64(arrTy, slots, 0, i));
    return {b.getInt64(n), slots};
  };

  if (ir::isTensorUnary(op))
    return call(in.reuse ? "dlrt_t_unary_owned" : "dlrt_t_unary", ptr, {i32, ptr, ptr},
                {b.getInt32(unaryCode(op)), ops[0], loc});
  if (ir::isTensorBinary(op) && in.reuse)
    return call("dlrt_t_binary_owned", ptr, {i32, ptr, ptr, i32, ptr},
                {b.getInt32(binaryCode(op)), ops[0], ops[1], b.getInt32(in.reuse - 1u), loc});
  if (ir::isTensorBinary(op))
    return call("dlrt_t_binary", ptr, {i32, ptr, ptr, ptr},
                {b.getInt32(binaryCode(op)), ops[0], ops[1], loc});

  switch (op) {
  case TensorOp::Zero:
    return llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx));
  case TensorOp::FromArray:
    return call("dlrt_t_from_array", ptr, {i32, ptr, i32, ptr},
                {kind(resultType), ops[0], b.getInt32(uint32_t(arrayDepth(opTypes[0]))), loc});
  case TensorOp::Scalar:
    return call("dlrt_t_scalar", ptr, {i32, f64}, {kind(resultType), asDouble(ops[0])});
  case TensorOp::Full:
    return call("dlrt_t_full", ptr, {i32, ptr, f64, ptr},
                {kind(resultType), ops[0], asDouble(ops[1]), loc});
  case TensorOp::Arange:
    return call("dlrt_t_arange", ptr, {i32, i64, ptr}, {kind(resultType), ops[0], loc});
  case TensorOp::Randn:
    return call("dlrt_t_randn", ptr, {i32, ptr, ptr}, {kind(resultType), ops[0], loc});
  case TensorOp::Rand:
    return call("dlrt_t_rand", ptr, {i32, ptr, ptr}, {kind(resultType), ops[0], loc});
  case TensorOp::Glorot:
    return call("dlrt_t_glorot", ptr, {i32, ptr, ptr}, {kind(resultType), ops[0], loc});
  case TensorOp::Shape:
    return call("dlrt_t_shape", ptr, {ptr}, {ops[0]});
  case TensorOp::Rank:
    return call("dlrt_t_rank", i64, {ptr}, {ops[0]});
  case TensorOp::Count:
    return call("dlrt_t_count", i64, {ptr}, {ops[0]});
  case TensorOp::Item:
    if (resultType->isFloatingPoint())
      return fromDouble(call("dlrt_t_item_f64", f64, {ptr, ptr}, {ops[0], loc}), resultType);
    else {
      llvm::Value *v = call("dlrt_t_item_i64", i64, {ptr, ptr}, {ops[0], loc});
      return resultType->kind == TypeKind::Bool ? b.CreateICmpNE(v, b.getInt64(0)) : v;
    }
  case TensorOp::Index: {
    auto [n, idx] = indexArray(1);
    return call("dlrt_t_index", ptr, {ptr, i64, ptr, ptr}, {ops[0], n, idx, loc});
  }
  case TensorOp::Slice:
    return call("dlrt_t_slice", ptr, {ptr, i64, i64, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::IndexBackward: {
    auto [n, idx] = indexArray(2);
    return call("dlrt_t_index_backward", ptr, {ptr, ptr, i64, ptr, ptr},
                {ops[0], ops[1], n, idx, loc});
  }
  case TensorOp::SliceBackward:
    return call("dlrt_t_slice_backward", ptr, {ptr, ptr, i64, i64, ptr},
                {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::Where:
    return call("dlrt_t_where", ptr, {ptr, ptr, ptr, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::Convert:
    return call("dlrt_t_convert", ptr, {ptr, i32}, {ops[0], kind(resultType)});
  case TensorOp::SumAll:
  case TensorOp::MeanAll:
  case TensorOp::MaxAll:
  case TensorOp::MinAll:
  case TensorOp::LogSumExpAll:
  case TensorOp::ArgmaxAll:
    return fromDouble(call("dlrt_t_reduce_all", f64, {i32, ptr, ptr},
                           {b.getInt32(reduceCode(op)), ops[0], loc}),
                      resultType);
  case TensorOp::SumAxis:
  case TensorOp::MeanAxis:
  case TensorOp::MaxAxis:
  case TensorOp::MinAxis:
  case TensorOp::LogSumExpAxis:
  case TensorOp::ArgmaxAxis:
    return call("dlrt_t_reduce", ptr, {i32, ptr, i64, i1, ptr},
                {b.getInt32(reduceCode(op)), ops[0], ops[1], ops[2], loc});
  case TensorOp::SumTo:
    return call("dlrt_t_sum_to", ptr, {ptr, ptr, ptr}, {ops[0], ops[1], loc});
  case TensorOp::BroadcastTo:
    return call("dlrt_t_broadcast_to", ptr, {ptr, ptr, ptr}, {ops[0], ops[1], loc});
  case TensorOp::FillLike:
    return call("dlrt_t_fill_like", ptr, {ptr, f64}, {ops[0], asDouble(ops[1])});
  case TensorOp::ExpandAxis:
    return call("dlrt_t_expand_axis", ptr, {ptr, ptr, i64, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::Materialize:
    return call("dlrt_t_materialize", ptr, {ptr, ptr}, {ops[0], ops[1]});
  case TensorOp::MatMul:
  case TensorOp::MatMulNT:
  case TensorOp::MatMulTN:
    return call("dlrt_t_matmul", ptr, {ptr, ptr, i1, i1, ptr},
                {ops[0], ops[1], b.getInt1(op == TensorOp::MatMulTN),
                 b.getInt1(op == TensorOp::MatMulNT), loc});
  case TensorOp::Transpose:
    return call("dlrt_t_transpose", ptr, {ptr, ptr, ptr},
                {ops[0], llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx)), loc});
  case TensorOp::Permute:
    return call("dlrt_t_transpose", ptr, {ptr, ptr, ptr}, {ops[0], ops[1], loc});
  case TensorOp::PermuteBackward:
    return call("dlrt_t_transpose_backward", ptr, {ptr, ptr, ptr}, {ops[0], ops[1], loc});
  case TensorOp::Reshape:
    return call(in.reuse ? "dlrt_t_reshape_owned" : "dlrt_t_reshape", ptr, {ptr, ptr, ptr},
                {ops[0], ops[1], loc});
  case TensorOp::Flatten:
    return call("dlrt_t_flatten", ptr, {ptr, i64, ptr}, {ops[0], ops[1], loc});
  case TensorOp::Squeeze:
    return call("dlrt_t_squeeze", ptr, {ptr, i64, i1, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::Unsqueeze:
    return call("dlrt_t_unsqueeze", ptr, {ptr, i64, ptr}, {ops[0], ops[1], loc});
  case TensorOp::Rows:
    return call("dlrt_t_rows", ptr, {ptr, ptr}, {ops[0], loc});
  case TensorOp::Narrow:
    return call("dlrt_t_narrow", ptr, {ptr, i64, i64, i64, ptr}, {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::NarrowBackward:
    return call("dlrt_t_narrow_backward", ptr, {ptr, ptr, i64, i64, i64, ptr},
                {ops[0], ops[1], ops[2], ops[3], ops[4], loc});
  case TensorOp::Concat: {
    auto [n, parts] = pointerArray(ops.drop_back());
    return call("dlrt_t_concat", ptr, {i64, ptr, i64, ptr}, {n, parts, ops.back(), loc});
  }
  case TensorOp::Join:
    return call("dlrt_t_join", ptr, {ptr, i64, i1, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::JoinTangent:
    return call("dlrt_t_join_tangent", ptr, {ptr, ptr, i64, i1, ptr},
                {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::JoinBackward:
    return call("dlrt_t_join_backward", ptr, {ptr, ptr, i64, i1, ptr},
                {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::Dim:
    return call("dlrt_t_dim", i64, {ptr, i64, ptr}, {ops[0], ops[1], loc});
  case TensorOp::Gather:
    return call("dlrt_t_gather", ptr, {ptr, ptr, i64, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::GatherBackward:
    return call("dlrt_t_gather_backward", ptr, {ptr, ptr, ptr, i64, ptr},
                {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::LoadIdx:
    return call("dlrt_t_load_idx", ptr, {ptr, i32, ptr}, {ops[0], kind(resultType), loc});
  case TensorOp::LoadNpy:
    return call("dlrt_t_load_npy", ptr, {ptr, i32, ptr}, {ops[0], kind(resultType), loc});
  case TensorOp::LoadCsv:
    return call("dlrt_t_load_csv", ptr, {ptr, i32, ptr}, {ops[0], kind(resultType), loc});
  case TensorOp::SaveNpy:
    call("dlrt_t_save_npy", b.getVoidTy(), {ptr, ptr, ptr}, {ops[0], ops[1], loc});
    return llvm::Constant::getNullValue(lower(resultType));
  case TensorOp::SaveModel:
  case TensorOp::LoadModel: {
    // Operands: path, then (name, tensor) pairs (Note [Model files]).
    std::vector<llvm::Value *> names, tensors;
    for (size_t i = 1; i + 1 < ops.size(); i += 2) {
      names.push_back(ops[i]);
      tensors.push_back(ops[i + 1]);
    }
    auto [n, nameArray] = pointerArray(names);
    llvm::Value *tensorArray = pointerArray(tensors).second;
    if (op == TensorOp::SaveModel) {
      call("dlrt_save_model", b.getVoidTy(), {ptr, i64, ptr, ptr, ptr},
           {ops[0], n, nameArray, tensorArray, loc});
      return llvm::Constant::getNullValue(lower(resultType));
    }
    llvm::Value *out = pointerArray(tensors).second; // overwritten by the runtime
    call("dlrt_load_model", b.getVoidTy(), {ptr, i64, ptr, ptr, ptr, ptr},
         {ops[0], n, nameArray, tensorArray, out, loc});
    llvm::ArrayType *outTy = llvm::ArrayType::get(ptr, std::max<size_t>(tensors.size(), 1));
    llvm::Value *result = llvm::PoisonValue::get(lower(resultType));
    for (size_t i = 0; i < tensors.size(); ++i)
      result = b.CreateInsertValue(
          result, b.CreateLoad(ptr, b.CreateConstGEP2_64(outTy, out, 0, i)), {unsigned(i)});
    return result;
  }
  case TensorOp::OneHot:
    return call("dlrt_t_one_hot", ptr, {ptr, i64, i32, ptr}, {ops[0], ops[1], kind(resultType), loc});
  case TensorOp::Conv2d:
    return call("dlrt_t_conv2d", ptr, {ptr, ptr, i64, i64, ptr}, {ops[0], ops[1], ops[2], ops[3], loc});
  case TensorOp::Conv2dBackwardInput:
  case TensorOp::Conv2dBackwardFilter:
    return call(op == TensorOp::Conv2dBackwardInput ? "dlrt_t_conv2d_backward_input"
                                                     : "dlrt_t_conv2d_backward_filter",
                ptr, {ptr, ptr, ptr, i64, i64, ptr}, {ops[0], ops[1], ops[2], ops[3], ops[4], loc});
  case TensorOp::MaxPool2d:
  case TensorOp::AvgPool2d:
    return call("dlrt_t_pool2d", ptr, {i32, ptr, i64, i64, i64, ptr},
                {b.getInt32(op == TensorOp::MaxPool2d ? DLRT_POOL_MAX : DLRT_POOL_AVG), ops[0],
                 ops[1], ops[2], ops[3], loc});
  case TensorOp::MaxPool2dBackward:
  case TensorOp::AvgPool2dBackward:
    return call("dlrt_t_pool2d_backward", ptr, {i32, ptr, ptr, i64, i64, i64, ptr},
                {b.getInt32(op == TensorOp::MaxPool2dBackward ? DLRT_POOL_MAX : DLRT_POOL_AVG),
                 ops[0], ops[1], ops[2], ops[3], ops[4], loc});
  case TensorOp::MaxPool2dTangent:
    return call("dlrt_t_max_pool2d_tangent", ptr, {ptr, ptr, i64, i64, i64, ptr},
                {ops[0], ops[1], ops[2], ops[3], ops[4], loc});
  case TensorOp::DropoutMask:
    return call("dlrt_t_dropout_mask", ptr, {ptr, f64, i1, ptr}, {ops[0], ops[1], ops[2], loc});
  case TensorOp::ReshapeLike:
    return call("dlrt_t_reshape_like", ptr, {ptr, ptr, ptr}, {ops[0], ops[1], loc});
  default:
    error(in.loc, std::string("internal error: no code for 'tensor.") + ir::tensorOpName(op) + "'");
    return llvm::PoisonValue::get(lower(resultType));
  }
}

} // namespace dlc::codegen
