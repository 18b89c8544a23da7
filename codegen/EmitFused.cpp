// Code generation for `tensor.fused` (Note [Fusion] in ir/Fusion.cpp): each
// kernel becomes an internal loop function `dl.<fn>.kernel<N>` over the
// [rows, cols] view of its result, a constant descriptor listing its nodes
// (for the runtime's fallback, with each node's location), and a call of
// dlrt_t_fused. The element operations are the runtime's own
// (runtime/tensor_ops.c), written out the same way, so a fused chain gives
// the same bits as the operations one by one.
#include "codegen/Lowering.h"

#include "runtime/dlrt.h"

#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

namespace dlc::codegen {

namespace {

using ir::TensorOp;

/// A call of the C math function `name` (its `f` form for Float).
llvm::Value *libm(Builder &b, llvm::Module &mod, const char *name, llvm::Type *t,
                  llvm::ArrayRef<llvm::Value *> args) {
  std::string fn = std::string(name) + (t->isFloatTy() ? "f" : "");
  std::vector<llvm::Type *> params(args.size(), t);
  llvm::FunctionCallee callee = mod.getOrInsertFunction(fn, llvm::FunctionType::get(t, params, false));
  if (auto *f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    f->setDoesNotThrow();
    f->setDoesNotAccessMemory(); // the runtime is built without errno for math
  }
  return b.CreateCall(callee, args);
}

llvm::Value *intrinsic(Builder &b, llvm::Intrinsic::ID id, llvm::Value *x) {
  return b.CreateUnaryIntrinsic(id, x);
}

/// One element of operation `op` (runtime/tensor_ops.c's definitions), or
/// null for an operation ir/Fusion.cpp should not have fused.
llvm::Value *elementOp(Builder &b, llvm::Module &mod, TensorOp op, llvm::Value *x, llvm::Value *y) {
  llvm::Type *t = x->getType();
  llvm::Value *zero = llvm::ConstantFP::get(t, 0.0), *one = llvm::ConstantFP::get(t, 1.0);
  switch (op) {
  case TensorOp::Neg: return b.CreateFNeg(x);
  case TensorOp::Exp: return libm(b, mod, "exp", t, {x});
  case TensorOp::Log: return libm(b, mod, "log", t, {x});
  case TensorOp::Log1p: return libm(b, mod, "log1p", t, {x});
  case TensorOp::Sqrt: return intrinsic(b, llvm::Intrinsic::sqrt, x);
  case TensorOp::Rsqrt: return b.CreateFDiv(one, intrinsic(b, llvm::Intrinsic::sqrt, x));
  case TensorOp::Abs: return intrinsic(b, llvm::Intrinsic::fabs, x);
  case TensorOp::Sin: return libm(b, mod, "sin", t, {x});
  case TensorOp::Cos: return libm(b, mod, "cos", t, {x});
  case TensorOp::Tanh: return libm(b, mod, "tanh", t, {x});
  case TensorOp::Sigmoid: {
    // e = exp(-|x|); (x >= 0 ? 1 : e) / (1 + e): never overflows.
    llvm::Value *e = libm(b, mod, "exp", t, {b.CreateFNeg(intrinsic(b, llvm::Intrinsic::fabs, x))});
    return b.CreateFDiv(b.CreateSelect(b.CreateFCmpOGE(x, zero), one, e), b.CreateFAdd(one, e));
  }
  case TensorOp::Relu: return b.CreateSelect(b.CreateFCmpOLT(x, zero), zero, x);
  case TensorOp::Sign:
    return b.CreateFSub(b.CreateUIToFP(b.CreateFCmpOGT(x, zero), t),
                        b.CreateUIToFP(b.CreateFCmpOLT(x, zero), t));
  case TensorOp::Floor: return intrinsic(b, llvm::Intrinsic::floor, x);
  case TensorOp::Ceil: return intrinsic(b, llvm::Intrinsic::ceil, x);
  case TensorOp::Round: return intrinsic(b, llvm::Intrinsic::round, x);
  case TensorOp::Step: return b.CreateSelect(b.CreateFCmpOGT(x, zero), one, zero);
  case TensorOp::Add: return b.CreateFAdd(x, y);
  case TensorOp::Sub: return b.CreateFSub(x, y);
  case TensorOp::Mul: return b.CreateFMul(x, y);
  case TensorOp::Div: return b.CreateFDiv(x, y);
  case TensorOp::Pow: return libm(b, mod, "pow", t, {x, y});
  case TensorOp::Min: // NaN propagates from x, as NumPy's minimum
    return b.CreateSelect(b.CreateOr(b.CreateFCmpOLT(x, y), b.CreateFCmpUNO(x, x)), x, y);
  case TensorOp::Max:
    return b.CreateSelect(b.CreateOr(b.CreateFCmpOGT(x, y), b.CreateFCmpUNO(x, x)), x, y);
  // Comparisons give an i1, read only by `where` nodes; as C compares (a NaN
  // is unequal to everything, itself included).
  case TensorOp::Eq: return b.CreateFCmpOEQ(x, y);
  case TensorOp::Ne: return b.CreateFCmpUNE(x, y);
  case TensorOp::Lt: return b.CreateFCmpOLT(x, y);
  case TensorOp::Le: return b.CreateFCmpOLE(x, y);
  case TensorOp::Gt: return b.CreateFCmpOGT(x, y);
  case TensorOp::Ge: return b.CreateFCmpOGE(x, y);
  default:
    return nullptr;
  }
}

/// void loop(i64 r0, i64 r1, i64 cols, ptr out, ptr inputs, ptr rowStride, ptr colStride);
/// with several outputs (Note [Fused outputs]) `out` is an array of their
/// data pointers.
llvm::Function *emitLoop(Lowering &l, const ir::FusedKernel &k, const std::vector<bool> &boolInput,
                         const std::string &name) {
  llvm::LLVMContext &ctx = l.ctx;
  llvm::Type *i64 = l.i64(), *ptr = l.ptrType();
  llvm::Type *t = sema::asTensor(k.type)->element->kind == sema::TypeKind::Float
                      ? llvm::Type::getFloatTy(ctx)
                      : llvm::Type::getDoubleTy(ctx);
  auto *fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {i64, i64, i64, ptr, ptr, ptr, ptr}, false);
  auto *fn = llvm::Function::Create(fnTy, llvm::GlobalValue::InternalLinkage, name, l.mod);
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Value *r0 = fn->getArg(0), *r1 = fn->getArg(1), *cols = fn->getArg(2), *out = fn->getArg(3);

  // Loads of inputs never alias the result's stores except at the same
  // element, which each iteration reads before it writes (an input whose
  // buffer holds the result is one of the result's shape): the same
  // assumption as the runtime's restrict-qualified loops.
  // Each output has a scope of its own: they are distinct buffers.
  llvm::MDBuilder md(ctx);
  llvm::MDNode *domain = md.createAnonymousAliasScopeDomain("dl.fused");
  unsigned outputs = k.outputs();
  std::vector<llvm::Metadata *> outScopes;
  for (unsigned j = 0; j < outputs; ++j)
    outScopes.push_back(md.createAnonymousAliasScope(domain, "result" + std::to_string(j)));
  llvm::MDNode *scopes = llvm::MDNode::get(ctx, outScopes);

  auto *entry = llvm::BasicBlock::Create(ctx, "entry", fn);
  auto *rowHead = llvm::BasicBlock::Create(ctx, "row", fn);
  auto *colBody = llvm::BasicBlock::Create(ctx, "col", fn);
  auto *rowLatch = llvm::BasicBlock::Create(ctx, "row.next", fn);
  auto *exit = llvm::BasicBlock::Create(ctx, "exit", fn);
  Builder b(entry);
  std::vector<llvm::Value *> base, rs, cs;
  for (unsigned i = 0; i < k.inputs; ++i) {
    base.push_back(b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, fn->getArg(4), i)));
    rs.push_back(b.CreateLoad(i64, b.CreateConstGEP1_64(i64, fn->getArg(5), i)));
    cs.push_back(b.CreateLoad(i64, b.CreateConstGEP1_64(i64, fn->getArg(6), i)));
  }
  std::vector<llvm::Value *> outBase = {out};
  if (outputs > 1) {
    outBase.clear();
    for (unsigned j = 0; j < outputs; ++j)
      outBase.push_back(b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, out, j)));
  }
  b.CreateCondBr(b.CreateICmpSLT(r0, r1), rowHead, exit);

  b.SetInsertPoint(rowHead);
  llvm::PHINode *r = b.CreatePHI(i64, 2, "r");
  r->addIncoming(r0, entry);
  std::vector<llvm::Value *> outRow;
  for (llvm::Value *o : outBase)
    outRow.push_back(b.CreateGEP(t, o, b.CreateMul(r, cols)));
  std::vector<llvm::Value *> inRow;
  for (unsigned i = 0; i < k.inputs; ++i)
    inRow.push_back(b.CreateGEP(boolInput[i] ? b.getInt8Ty() : t, base[i], b.CreateMul(r, rs[i])));
  b.CreateCondBr(b.CreateICmpSGT(cols, b.getInt64(0)), colBody, rowLatch);

  b.SetInsertPoint(colBody);
  llvm::PHINode *c = b.CreatePHI(i64, 2, "c");
  c->addIncoming(b.getInt64(0), rowHead);
  std::vector<llvm::Value *> x;
  for (unsigned i = 0; i < k.inputs; ++i) {
    // A Bool input (a `where` condition) is a byte: its value is `!= 0`.
    llvm::Type *et = boolInput[i] ? b.getInt8Ty() : t;
    llvm::LoadInst *load = b.CreateLoad(et, b.CreateGEP(et, inRow[i], b.CreateMul(c, cs[i])));
    load->setMetadata(llvm::LLVMContext::MD_noalias, scopes);
    x.push_back(boolInput[i] ? b.CreateICmpNE(load, b.getInt8(0)) : static_cast<llvm::Value *>(load));
  }
  std::vector<llvm::Value *> node;
  auto value = [&](int o) { return o >= 0 ? node[size_t(o)] : x[size_t(-1 - o)]; };
  for (const ir::FusedNode &n : k.nodes) {
    llvm::Value *v = n.op == TensorOp::Where
                         ? b.CreateSelect(value(n.a), value(n.b), value(n.c))
                         : elementOp(b, l.mod, n.op, value(n.a),
                                     ir::isTensorBinary(n.op) ? value(n.b) : nullptr);
    if (!v) {
      l.error(n.loc, std::string("internal error: no fused form of tensor.") + ir::tensorOpName(n.op));
      v = llvm::PoisonValue::get(t);
    }
    node.push_back(v);
  }
  for (unsigned j = 0; j < outputs; ++j) {
    llvm::Value *v = j == 0 ? node.back() : node[size_t(k.extraOutputs[j - 1])];
    llvm::StoreInst *store = b.CreateStore(v, b.CreateGEP(t, outRow[j], c));
    store->setMetadata(llvm::LLVMContext::MD_alias_scope, llvm::MDNode::get(ctx, {outScopes[j]}));
    // Apart from the other outputs' stores.
    std::vector<llvm::Metadata *> others;
    for (unsigned o = 0; o < outputs; ++o)
      if (o != j)
        others.push_back(outScopes[o]);
    if (!others.empty())
      store->setMetadata(llvm::LLVMContext::MD_noalias, llvm::MDNode::get(ctx, others));
  }
  llvm::Value *cn = b.CreateAdd(c, b.getInt64(1));
  c->addIncoming(cn, colBody);
  b.CreateCondBr(b.CreateICmpSLT(cn, cols), colBody, rowLatch);

  b.SetInsertPoint(rowLatch);
  llvm::Value *rn = b.CreateAdd(r, b.getInt64(1));
  r->addIncoming(rn, rowLatch);
  b.CreateCondBr(b.CreateICmpSLT(rn, r1), rowHead, exit);

  b.SetInsertPoint(exit);
  b.CreateRetVoid();
  return fn;
}

bool isFloat(const ir::FusedKernel &k) {
  return sema::asTensor(k.type)->element->kind == sema::TypeKind::Float;
}

} // namespace

llvm::Value *Lowering::emitFused(Builder &b, const ir::Function &f, const ir::Instr &in,
                                 llvm::ArrayRef<llvm::Value *> ops) {
  if (in.kernel < 0 || size_t(in.kernel) >= f.kernels.size()) {
    error(in.loc, "internal error: a fused operation without its kernel");
    return llvm::PoisonValue::get(ptrType());
  }
  const ir::FusedKernel &k = f.kernels[size_t(in.kernel)];
  llvm::Type *i32 = b.getInt32Ty(), *ptr = ptrType();
  auto key = std::make_pair(&f, in.kernel);
  llvm::Constant *descriptor = fusedKernels[key];
  if (!descriptor) {
    std::vector<bool> boolInput(k.inputs, false);
    bool anyBool = false;
    for (unsigned i = 0; i < k.inputs; ++i) {
      auto *tt = sema::asTensor(f.typeOf(in.operands[i]));
      boolInput[i] = tt && tt->element->kind == sema::TypeKind::Bool;
      anyBool = anyBool || boolInput[i];
    }
    llvm::Function *loop =
        emitLoop(*this, k, boolInput, "dl." + f.name + ".kernel" + std::to_string(in.kernel));
    // runtime/dlrt.h's DlFusedNode: arity 1, 2 or 3 (where), the operation's
    // code, the operands, the location.
    auto *nodeTy = llvm::StructType::get(ctx, {i32, i32, i32, i32, i32, ptr});
    std::vector<llvm::Constant *> nodes;
    for (const ir::FusedNode &n : k.nodes) {
      int arity = ir::fusedArity(n.op);
      int32_t code = arity == 3 ? 0 : arity == 2 ? binaryCode(n.op) : unaryCode(n.op);
      nodes.push_back(llvm::ConstantStruct::get(
          nodeTy, {b.getInt32(uint32_t(arity - 1)), b.getInt32(uint32_t(code)),
                   b.getInt32(uint32_t(n.a)), b.getInt32(uint32_t(n.b)), b.getInt32(uint32_t(n.c)),
                   locString(n.loc)}));
    }
    auto *nodesTy = llvm::ArrayType::get(nodeTy, nodes.size());
    auto *nodesVar = new llvm::GlobalVariable(mod, nodesTy, true, llvm::GlobalValue::PrivateLinkage,
                                              llvm::ConstantArray::get(nodesTy, nodes),
                                              "dl.kernel.nodes" + std::to_string(kernelCount));
    // The output nodes, for dlrt_t_fused_multi: the last node first.
    llvm::Constant *outputNodes = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
    if (k.outputs() > 1) {
      std::vector<llvm::Constant *> ids = {b.getInt32(uint32_t(k.nodes.size() - 1))};
      for (int e : k.extraOutputs)
        ids.push_back(b.getInt32(uint32_t(e)));
      auto *idsTy = llvm::ArrayType::get(i32, ids.size());
      outputNodes = new llvm::GlobalVariable(mod, idsTy, true, llvm::GlobalValue::PrivateLinkage,
                                             llvm::ConstantArray::get(idsTy, ids),
                                             "dl.kernel.outputs" + std::to_string(kernelCount));
    }
    // Each input's kind, when some are Bool (else every one is the kernel's).
    llvm::Constant *inputKinds = llvm::ConstantPointerNull::get(llvm::PointerType::get(ctx, 0));
    if (anyBool) {
      std::vector<llvm::Constant *> kinds;
      for (unsigned i = 0; i < k.inputs; ++i)
        kinds.push_back(b.getInt32(boolInput[i] ? DLRT_BOOL : isFloat(k) ? DLRT_F32 : DLRT_F64));
      auto *kindsTy = llvm::ArrayType::get(i32, kinds.size());
      inputKinds = new llvm::GlobalVariable(mod, kindsTy, true, llvm::GlobalValue::PrivateLinkage,
                                            llvm::ConstantArray::get(kindsTy, kinds),
                                            "dl.kernel.kinds" + std::to_string(kernelCount));
    }
    auto *kernelTy = llvm::StructType::get(ctx, {i32, i32, i32, ptr, ptr, i32, ptr, ptr});
    descriptor = new llvm::GlobalVariable(
        mod, kernelTy, true, llvm::GlobalValue::PrivateLinkage,
        llvm::ConstantStruct::get(kernelTy, {b.getInt32(isFloat(k) ? DLRT_F32 : DLRT_F64),
                                             b.getInt32(k.inputs),
                                             b.getInt32(uint32_t(k.nodes.size())), nodesVar, loop,
                                             b.getInt32(k.outputs()), outputNodes, inputKinds}),
        "dl.kernel" + std::to_string(kernelCount++));
    fusedKernels[key] = descriptor;
  }
  // The inputs in a stack array.
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::IRBuilder<> entry(&fn->getEntryBlock(), fn->getEntryBlock().begin());
  auto *arrTy = llvm::ArrayType::get(ptr, std::max<size_t>(k.inputs, 1));
  llvm::Value *inputs = entry.CreateAlloca(arrTy);
  for (size_t i = 0; i < k.inputs; ++i)
    b.CreateStore(ops[i], b.CreateConstGEP2_64(arrTy, inputs, 0, i));
  if (k.reducesAxis()) { // the axis and keepDims follow the inputs
    int32_t code = reduceCode(k.reduce);
    llvm::FunctionCallee callee = tensorRuntime("dlrt_t_fused_reduce_axis", ptr,
                                                {ptr, ptr, i32, b.getInt64Ty(), b.getInt1Ty(), ptr});
    return b.CreateCall(callee, {descriptor, inputs, b.getInt32(uint32_t(code)), ops[k.inputs],
                                 ops[k.inputs + 1], locString(in.loc)});
  }
  if (k.reduces()) { // Note [Fused reductions]: a double holding the element's value
    llvm::Type *f64 = b.getDoubleTy();
    llvm::FunctionCallee callee = tensorRuntime("dlrt_t_fused_reduce", f64, {ptr, ptr, i32, ptr});
    llvm::Value *d =
        b.CreateCall(callee, {descriptor, inputs,
                              b.getInt32(uint32_t(reduceCode(k.reduce))),
                              locString(in.loc)});
    return isFloat(k) ? b.CreateFPTrunc(d, b.getFloatTy()) : d;
  }
  if (k.outputs() > 1) { // Note [Fused outputs]: the tuple of the results
    unsigned n = k.outputs();
    auto *reuseTy = llvm::ArrayType::get(i32, n);
    auto *resultsTy = llvm::ArrayType::get(ptr, n);
    llvm::Value *reuse = entry.CreateAlloca(reuseTy);
    llvm::Value *results = entry.CreateAlloca(resultsTy);
    for (unsigned j = 0; j < n; ++j) {
      uint8_t r = j == 0 ? in.reuse : j - 1 < in.extraReuse.size() ? in.extraReuse[j - 1] : 0;
      b.CreateStore(b.getInt32(uint32_t(int32_t(r) - 1)), b.CreateConstGEP2_64(reuseTy, reuse, 0, j));
    }
    llvm::FunctionCallee callee =
        tensorRuntime("dlrt_t_fused_multi", b.getVoidTy(), {ptr, ptr, ptr, ptr, ptr});
    b.CreateCall(callee, {descriptor, inputs, reuse, results, locString(in.loc)});
    llvm::Type *tupleTy = lower(f.typeOf(in.result));
    llvm::Value *tuple = llvm::PoisonValue::get(tupleTy);
    for (unsigned j = 0; j < n; ++j)
      tuple = b.CreateInsertValue(
          tuple, b.CreateLoad(ptr, b.CreateConstGEP2_64(resultsTy, results, 0, j)), {j});
    return tuple;
  }
  llvm::FunctionCallee callee = tensorRuntime("dlrt_t_fused", ptr, {ptr, ptr, i32, ptr});
  return b.CreateCall(callee, {descriptor, inputs, b.getInt32(uint32_t(int32_t(in.reuse) - 1)),
                               locString(in.loc)});
}

} // namespace dlc::codegen
