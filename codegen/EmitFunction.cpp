// Function bodies: one DIR function -> the body of `dl.<name>`. Blocks are
// emitted in reverse post-order (so every operand is defined before its use),
// block arguments become phi nodes, and each instruction lowers through the
// switch in FunctionEmitter::emit, with runtime checks branching to cold
// failure blocks.
#include "codegen/Lowering.h"
#include "ir/Builder.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include <cstdint>

namespace dlc::codegen {

using ir::Op;
using sema::TypeKind;

namespace {

class FunctionEmitter {
public:
  FunctionEmitter(Lowering &l, ir::FuncId id)
      : l(l), f(l.dir.function(id)), fn(l.function(id)), b(l.ctx) {}

  void run();

private:
  Lowering &l;
  const ir::Function &f;
  llvm::Function *fn;
  Builder b;
  llvm::BasicBlock *entry = nullptr; // allocas live here
  std::vector<llvm::Value *> values;
  std::vector<llvm::BasicBlock *> blocks;
  std::vector<std::vector<llvm::PHINode *>> phis;
  const ir::Instr *current = nullptr;

  std::vector<uint32_t> reversePostOrder() const;
  void emit(const ir::Instr &in);
  void emitBranchArgs(const ir::Target &t);
  void emitCondBr(const ir::Instr &in);

  // Operands and results, checked so malformed DIR reports instead of crashing.
  llvm::Value *operand(size_t i);
  llvm::Value *value(ir::ValueId v);
  const sema::Type *operandType(size_t i);
  const sema::Type *resultType();
  llvm::Type *resultLLVMType() { return l.lower(resultType()); }
  void define(llvm::Value *v);
  void internal(const std::string &what);

  llvm::Value *checkedIntOp(llvm::Intrinsic::ID id, llvm::Value *x, llvm::Value *y,
                            const char *opText);
  void failOverflow(Builder &fb, const char *opText);
  llvm::Value *emitArith(const ir::Instr &in);
  llvm::Value *emitCompare(const ir::Instr &in);
  llvm::Value *emitConvert();
  llvm::Value *emitMath(const ir::Instr &in);
  llvm::Value *emitIntMath(Op op, llvm::Value *x);
  llvm::Value *libmCall(const char *name, llvm::Value *x);
  llvm::Value *boundsChecked(llvm::Value *array, llvm::Value *index);
  llvm::Value *emitMakeClosure(const ir::Instr &in);
  llvm::Value *entryAlloca(llvm::Type *t);
};

void FunctionEmitter::internal(const std::string &what) {
  l.error(current ? current->loc : f.loc, "internal error in '" + f.name + "': " + what);
}

llvm::Value *FunctionEmitter::operand(size_t i) {
  if (i >= current->operands.size()) {
    internal(std::string("'") + ir::mnemonic(current->op) + "' is missing an operand");
    return llvm::PoisonValue::get(l.i64());
  }
  return value(current->operands[i]);
}

llvm::Value *FunctionEmitter::value(ir::ValueId v) {
  if (v.index >= values.size() || !values[v.index]) {
    internal("a value is used before it is defined");
    const sema::Type *t = v.index < f.values.size() ? f.values[v.index].type : nullptr;
    return llvm::PoisonValue::get(t ? l.lower(t) : l.i64());
  }
  return values[v.index];
}

const sema::Type *FunctionEmitter::operandType(size_t i) {
  if (i >= current->operands.size() || current->operands[i].index >= f.values.size())
    return l.dir.types ? l.dir.types->intType() : nullptr;
  return f.typeOf(current->operands[i]);
}

const sema::Type *FunctionEmitter::resultType() {
  if (current->result.index >= f.values.size())
    return l.dir.types ? l.dir.types->intType() : nullptr;
  return f.typeOf(current->result);
}

void FunctionEmitter::define(llvm::Value *v) {
  if (!current->result.isValid() || current->result.index >= values.size()) {
    internal(std::string("'") + ir::mnemonic(current->op) + "' has no result value");
    return;
  }
  values[current->result.index] = v;
  // Source variable names make `--emit llvm` output readable.
  const std::string &name = f.values[current->result.index].name;
  if (!name.empty() && llvm::isa<llvm::Instruction>(v) && !v->hasName())
    v->setName(name);
}

std::vector<uint32_t> FunctionEmitter::reversePostOrder() const {
  std::vector<uint32_t> post;
  std::vector<uint8_t> state(f.blocks.size(), 0); // 0 unseen, 1 on stack, 2 done
  std::vector<std::pair<uint32_t, size_t>> stack{{0, 0}};
  state[0] = 1;
  while (!stack.empty()) {
    auto &[block, next] = stack.back();
    const auto &instrs = f.blocks[block].instrs;
    const std::vector<ir::Target> *targets = instrs.empty() ? nullptr : &instrs.back().targets;
    if (targets && next < targets->size()) {
      uint32_t succ = (*targets)[next++].block.index;
      if (succ < f.blocks.size() && state[succ] == 0) {
        state[succ] = 1;
        stack.push_back({succ, 0});
      }
      continue;
    }
    state[block] = 2;
    post.push_back(block);
    stack.pop_back();
  }
  return {post.rbegin(), post.rend()};
}

void FunctionEmitter::run() {
  if (!fn)
    return;
  if (f.blocks.empty()) {
    l.error(f.loc, "internal error: function '" + f.name + "' has no body");
    return;
  }
  values.assign(f.values.size(), nullptr);
  blocks.assign(f.blocks.size(), nullptr);
  phis.assign(f.blocks.size(), {});

  entry = llvm::BasicBlock::Create(l.ctx, "entry", fn);
  std::vector<uint32_t> order = reversePostOrder();

  bool entryHasPreds = false;
  for (uint32_t bi : order)
    for (const ir::Target &t : f.blocks[bi].instrs.empty() ? std::vector<ir::Target>{}
                                                           : f.blocks[bi].instrs.back().targets)
      entryHasPreds |= t.block.index == 0;

  // Create the LLVM blocks and their phis before emitting any branch.
  for (uint32_t bi : order) {
    const ir::Block &block = f.blocks[bi];
    if (bi == 0 && !entryHasPreds) {
      blocks[0] = entry;
      continue;
    }
    blocks[bi] = llvm::BasicBlock::Create(l.ctx, block.name.empty() ? "bb" : block.name, fn);
    b.SetInsertPoint(blocks[bi]);
    for (ir::ValueId arg : block.args) {
      if (arg.index >= values.size()) {
        internal("a block argument is out of range");
        return;
      }
      llvm::PHINode *phi = b.CreatePHI(l.lower(f.typeOf(arg)), 2, f.values[arg.index].name);
      phis[bi].push_back(phi);
      values[arg.index] = phi;
    }
  }

  const ir::Block &first = f.blocks[0];
  if (first.args.size() != fn->arg_size()) {
    l.error(f.loc, "internal error: '" + f.name + "' has " + std::to_string(first.args.size()) +
                       " entry block arguments for " + std::to_string(fn->arg_size()) +
                       " parameters");
    return;
  }
  if (!entryHasPreds) {
    for (size_t i = 0; i < first.args.size(); ++i)
      values[first.args[i].index] = fn->getArg(unsigned(i));
  } else {
    b.SetInsertPoint(entry);
    for (size_t i = 0; i < first.args.size(); ++i)
      phis[0][i]->addIncoming(fn->getArg(unsigned(i)), entry);
    b.CreateBr(blocks[0]);
  }

  for (uint32_t bi : order) {
    b.SetInsertPoint(blocks[bi]);
    const ir::Block &block = f.blocks[bi];
    if (block.instrs.empty() || !ir::isTerminator(block.instrs.back().op)) {
      l.error(f.loc, "internal error: a block of '" + f.name + "' has no terminator");
      return;
    }
    for (const ir::Instr &in : block.instrs) {
      current = &in;
      emit(in);
      if (l.failed())
        return;
      if (ir::isTerminator(in.op))
        break;
    }
  }
}

void FunctionEmitter::emitBranchArgs(const ir::Target &t) {
  uint32_t target = t.block.index;
  if (target >= blocks.size() || !blocks[target]) {
    internal("a branch to an unknown block");
    return;
  }
  if (t.args.size() != phis[target].size()) {
    internal("a branch passes the wrong number of block arguments");
    return;
  }
  for (size_t i = 0; i < t.args.size(); ++i)
    phis[target][i]->addIncoming(value(t.args[i]), b.GetInsertBlock());
}

void FunctionEmitter::emitCondBr(const ir::Instr &in) {
  if (in.targets.size() != 2) {
    internal("'cond_br' needs two targets");
    return;
  }
  llvm::Value *cond = operand(0);
  const ir::Target &yes = in.targets[0], &no = in.targets[1];
  if (l.failed() || yes.block.index >= blocks.size() || no.block.index >= blocks.size() ||
      !blocks[yes.block.index] || !blocks[no.block.index]) {
    internal("a branch to an unknown block");
    return;
  }
  // Each edge into a block with arguments gets its own predecessor, so both
  // edges of a conditional branch to one block can pass different values.
  auto edgeBlock = [&](const ir::Target &t) -> llvm::BasicBlock * {
    if (t.args.empty())
      return blocks[t.block.index];
    auto *edge = llvm::BasicBlock::Create(l.ctx, "edge", fn);
    Builder::InsertPoint saved = b.saveIP();
    b.SetInsertPoint(edge);
    emitBranchArgs(t);
    b.CreateBr(blocks[t.block.index]);
    b.restoreIP(saved);
    return edge;
  };
  llvm::BasicBlock *from = b.GetInsertBlock();
  if (yes.block == no.block && !yes.args.empty()) {
    llvm::BasicBlock *yesBlock = edgeBlock(yes);
    llvm::BasicBlock *noBlock = edgeBlock(no);
    b.SetInsertPoint(from);
    b.CreateCondBr(cond, yesBlock, noBlock);
    return;
  }
  emitBranchArgs(yes);
  emitBranchArgs(no);
  b.CreateCondBr(cond, blocks[yes.block.index], blocks[no.block.index]);
}

void FunctionEmitter::failOverflow(Builder &fb, const char *opText) {
  fb.CreateCall(l.runtime(RtFn::FailOverflow), {l.locString(current->loc), l.cString(opText)});
}

llvm::Value *FunctionEmitter::checkedIntOp(llvm::Intrinsic::ID id, llvm::Value *x, llvm::Value *y,
                                           const char *opText) {
  llvm::Value *pair = b.CreateBinaryIntrinsic(id, x, y);
  llvm::Value *overflow = b.CreateExtractValue(pair, {1u});
  l.emitFailIf(b, overflow, [&](Builder &fb) { failOverflow(fb, opText); });
  return b.CreateExtractValue(pair, {0u});
}

llvm::Value *FunctionEmitter::emitArith(const ir::Instr &in) {
  const sema::Type *t = operandType(0);
  bool isInt = t->kind == TypeKind::Int;
  // imm 1 on Int arithmetic: a recomputation of one that did not trap
  // (ad/Recompute.cpp, Note [Rematerialization]), so no checks.
  bool unchecked = isInt && in.imm == 1;
  if (in.op == Op::Neg) {
    llvm::Value *x = operand(0);
    if (unchecked)
      return b.CreateNSWNeg(x);
    if (isInt)
      return checkedIntOp(llvm::Intrinsic::ssub_with_overflow, b.getInt64(0), x, "-");
    return b.CreateFNeg(x);
  }
  llvm::Value *x = operand(0), *y = operand(1);
  if (unchecked) {
    switch (in.op) {
    case Op::Add:
      return b.CreateNSWAdd(x, y);
    case Op::Sub:
      return b.CreateNSWSub(x, y);
    case Op::Mul:
      return b.CreateNSWMul(x, y);
    case Op::Div:
      return b.CreateSDiv(x, y);
    default: // x % -1 is 0 for every x, as in the checked form
      return b.CreateSRem(x, b.CreateSelect(b.CreateICmpEQ(y, b.getInt64(-1)), b.getInt64(1), y));
    }
  }
  if (!isInt) {
    switch (in.op) {
    case Op::Add:
      return b.CreateFAdd(x, y);
    case Op::Sub:
      return b.CreateFSub(x, y);
    case Op::Mul:
      return b.CreateFMul(x, y);
    case Op::Div:
      return b.CreateFDiv(x, y);
    default:
      return b.CreateFRem(x, y);
    }
  }
  switch (in.op) {
  case Op::Add:
    return checkedIntOp(llvm::Intrinsic::sadd_with_overflow, x, y, "+");
  case Op::Sub:
    return checkedIntOp(llvm::Intrinsic::ssub_with_overflow, x, y, "-");
  case Op::Mul:
    return checkedIntOp(llvm::Intrinsic::smul_with_overflow, x, y, "*");
  default:
    break;
  }
  // Div and Rem: a zero divisor traps; INT64_MIN / -1 overflows while
  // INT64_MIN % -1 is 0 (x % -1 is 0 for every x, so divide by 1 instead).
  llvm::Value *zero = b.CreateICmpEQ(y, b.getInt64(0));
  l.emitFailIf(b, zero, [&](Builder &fb) {
    fb.CreateCall(l.runtime(RtFn::FailDivZero), {l.locString(current->loc)});
  });
  llvm::Value *minusOne = b.CreateICmpEQ(y, b.getInt64(-1));
  if (in.op == Op::Div) {
    llvm::Value *overflow = b.CreateAnd(b.CreateICmpEQ(x, b.getInt64(INT64_MIN)), minusOne);
    l.emitFailIf(b, overflow, [&](Builder &fb) { failOverflow(fb, "/"); });
    return b.CreateSDiv(x, y);
  }
  return b.CreateSRem(x, b.CreateSelect(minusOne, b.getInt64(1), y));
}

llvm::Value *FunctionEmitter::emitCompare(const ir::Instr &in) {
  using P = llvm::CmpInst::Predicate;
  llvm::Value *x = operand(0), *y = operand(1);
  auto pick = [&](P eq, P ne, P lt, P le, P gt, P ge) {
    switch (in.op) {
    case Op::CmpEq:
      return eq;
    case Op::CmpNe:
      return ne;
    case Op::CmpLt:
      return lt;
    case Op::CmpLe:
      return le;
    case Op::CmpGt:
      return gt;
    default:
      return ge;
    }
  };
  switch (operandType(0)->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return b.CreateFCmp(
        pick(P::FCMP_OEQ, P::FCMP_UNE, P::FCMP_OLT, P::FCMP_OLE, P::FCMP_OGT, P::FCMP_OGE), x, y);
  case TypeKind::Bool: // false < true
    return b.CreateICmp(
        pick(P::ICMP_EQ, P::ICMP_NE, P::ICMP_ULT, P::ICMP_ULE, P::ICMP_UGT, P::ICMP_UGE), x, y);
  case TypeKind::String:
    x = b.CreateCall(l.runtime(RtFn::StringCompare), {x, y});
    y = b.getInt64(0);
    [[fallthrough]];
  case TypeKind::Int:
    return b.CreateICmp(
        pick(P::ICMP_EQ, P::ICMP_NE, P::ICMP_SLT, P::ICMP_SLE, P::ICMP_SGT, P::ICMP_SGE), x, y);
  case TypeKind::Error:
  case TypeKind::Tuple:
  case TypeKind::Array:
  case TypeKind::Function:
  case TypeKind::Struct:
  case TypeKind::Tensor:
    break;
  }
  internal(std::string("cannot compare values of type '") + operandType(0)->str() + "'");
  return llvm::PoisonValue::get(b.getInt1Ty());
}

llvm::Value *FunctionEmitter::emitConvert() {
  const sema::Type *from = operandType(0), *to = resultType();
  llvm::Value *x = operand(0);
  llvm::Type *toTy = l.lower(to);
  if (from == to)
    return x;
  TypeKind fk = from->kind, tk = to->kind;
  bool fromFloat = from->isFloatingPoint(), toFloat = to->isFloatingPoint();
  if (fk == TypeKind::Int && toFloat)
    return b.CreateSIToFP(x, toTy);
  if (fk == TypeKind::Bool && tk == TypeKind::Int)
    return b.CreateZExt(x, toTy);
  if (fk == TypeKind::Bool && toFloat)
    return b.CreateUIToFP(x, toTy);
  if (fk == TypeKind::Int && tk == TypeKind::Bool)
    return b.CreateICmpNE(x, b.getInt64(0));
  if (fromFloat && toFloat)
    return fk == TypeKind::Float ? b.CreateFPExt(x, toTy) : b.CreateFPTrunc(x, toTy);
  if (fromFloat && tk == TypeKind::Int) {
    // -2^63 and 2^63 are exact in float and double; NaN fails both tests.
    llvm::Value *lo =
        b.CreateFCmpOGE(x, llvm::ConstantFP::get(x->getType(), -9.223372036854775808e18));
    llvm::Value *hi =
        b.CreateFCmpOLT(x, llvm::ConstantFP::get(x->getType(), 9.223372036854775808e18));
    llvm::Value *bad = b.CreateNot(b.CreateAnd(lo, hi));
    l.emitFailIf(b, bad, [&](Builder &fb) {
      llvm::Value *d = fk == TypeKind::Double ? x : fb.CreateFPExt(x, fb.getDoubleTy());
      fb.CreateCall(l.runtime(RtFn::FailConvert), {l.locString(current->loc), d});
    });
    return b.CreateFPToSI(x, toTy);
  }
  internal("cannot convert '" + from->str() + "' to '" + to->str() + "'");
  return llvm::PoisonValue::get(toTy);
}

llvm::Value *FunctionEmitter::libmCall(const char *name, llvm::Value *x) {
  bool isFloat = x->getType()->isFloatTy();
  std::string symbol = std::string(name) + (isFloat ? "f" : "");
  llvm::FunctionCallee callee = l.mod.getOrInsertFunction(
      symbol, llvm::FunctionType::get(x->getType(), {x->getType()}, false));
  if (auto *decl = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
    decl->setDoesNotThrow();
    decl->setWillReturn();
    decl->setDoesNotAccessMemory(); // as clang's -fno-math-errno: DL never reads errno
  }
  llvm::CallInst *call = b.CreateCall(callee, {x});
  call->setDoesNotAccessMemory();
  return call;
}

llvm::Value *FunctionEmitter::emitIntMath(Op op, llvm::Value *x) {
  llvm::Value *zero = b.getInt64(0);
  switch (op) {
  case Op::Abs: {
    l.emitFailIf(b, b.CreateICmpEQ(x, b.getInt64(INT64_MIN)),
                 [&](Builder &fb) { failOverflow(fb, "abs"); });
    return b.CreateSelect(b.CreateICmpSLT(x, zero), b.CreateNeg(x), x);
  }
  case Op::Sign: {
    llvm::Value *pos = b.CreateZExt(b.CreateICmpSGT(x, zero), l.i64());
    llvm::Value *neg = b.CreateZExt(b.CreateICmpSLT(x, zero), l.i64());
    return b.CreateSub(pos, neg);
  }
  case Op::Min:
  case Op::Max: {
    llvm::Value *y = operand(1);
    llvm::Value *less = b.CreateICmpSLT(x, y);
    return op == Op::Min ? b.CreateSelect(less, x, y) : b.CreateSelect(less, y, x);
  }
  default:
    internal(std::string("'") + ir::mnemonic(op) + "' is not defined on Int");
    return llvm::PoisonValue::get(l.i64());
  }
}

llvm::Value *FunctionEmitter::emitMath(const ir::Instr &in) {
  llvm::Value *x = operand(0);
  if (operandType(0)->kind == TypeKind::Int)
    return emitIntMath(in.op, x);
  llvm::Type *ty = x->getType();
  llvm::Value *zero = llvm::ConstantFP::get(ty, 0.0);
  llvm::Value *one = llvm::ConstantFP::get(ty, 1.0);
  auto unary = [&](llvm::Intrinsic::ID id) { return b.CreateUnaryIntrinsic(id, x); };
  switch (in.op) {
  case Op::Sin:
    return unary(llvm::Intrinsic::sin);
  case Op::Cos:
    return unary(llvm::Intrinsic::cos);
  case Op::Exp:
    return unary(llvm::Intrinsic::exp);
  case Op::Log:
    return unary(llvm::Intrinsic::log);
  case Op::Sqrt:
    return unary(llvm::Intrinsic::sqrt);
  case Op::Abs:
    return unary(llvm::Intrinsic::fabs);
  case Op::Floor:
    return unary(llvm::Intrinsic::floor);
  case Op::Ceil:
    return unary(llvm::Intrinsic::ceil);
  case Op::Round: // llvm.round rounds halfway cases away from zero
    return unary(llvm::Intrinsic::round);
  case Op::Tan:
    return libmCall("tan", x);
  case Op::Log1p:
    return libmCall("log1p", x);
  case Op::Tanh:
    return libmCall("tanh", x);
  case Op::Sigmoid: {
    llvm::Value *e = b.CreateUnaryIntrinsic(llvm::Intrinsic::exp, b.CreateFNeg(x));
    return b.CreateFDiv(one, b.CreateFAdd(one, e));
  }
  case Op::Relu:
    return b.CreateSelect(b.CreateFCmpOGT(x, zero), x, zero);
  case Op::Sign: {
    llvm::Value *minusOne = llvm::ConstantFP::get(ty, -1.0);
    llvm::Value *negOrZero = b.CreateSelect(b.CreateFCmpOLT(x, zero), minusOne, zero);
    return b.CreateSelect(b.CreateFCmpOGT(x, zero), one, negOrZero);
  }
  case Op::Pow:
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, x, operand(1));
  case Op::Min: // NaN-propagating, -0 < +0
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, x, operand(1));
  case Op::Max:
    return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, operand(1));
  default:
    internal(std::string("'") + ir::mnemonic(in.op) + "' is not a math operation");
    return llvm::PoisonValue::get(ty);
  }
}

llvm::Value *FunctionEmitter::entryAlloca(llvm::Type *t) {
  Builder eb(entry, entry->begin());
  return eb.CreateAlloca(t);
}

/// Traps unless 0 <= index < count (one unsigned comparison); returns count.
llvm::Value *FunctionEmitter::boundsChecked(llvm::Value *array, llvm::Value *index) {
  llvm::Value *count =
      l.arrayHeaderAccess(b.CreateLoad(l.i64(), l.bytePtr(b, array, kArrayCountOffset), "count"));
  l.emitFailIf(b, b.CreateICmpUGE(index, count), [&](Builder &fb) {
    fb.CreateCall(l.runtime(RtFn::FailIndex), {l.locString(current->loc), index, count});
  });
  return count;
}

llvm::Value *FunctionEmitter::emitMakeClosure(const ir::Instr &in) {
  if (in.callee.index >= l.dir.functions.size()) {
    internal("'closure' names an unknown function");
    return llvm::PoisonValue::get(l.closureType());
  }
  size_t captures = in.operands.size();
  llvm::Function *code = l.trampoline(in.callee, captures);
  llvm::Value *env = llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(l.ctx));
  if (captures) {
    // DlClosureEnv's header, then the captured values (Note [Closure ownership]).
    llvm::StructType *envTy = l.envType(in.callee, captures);
    env = b.CreateCall(l.runtime(RtFn::Alloc), {b.getInt64(l.allocSize(envTy))}, "env");
    b.CreateStore(b.getInt64(1), b.CreateStructGEP(envTy, env, 0));
    b.CreateStore(l.closureDrop(in.callee, captures), b.CreateStructGEP(envTy, env, 1));
    for (size_t i = 0; i < captures; ++i)
      b.CreateStore(operand(i), b.CreateStructGEP(envTy, env, Lowering::kEnvCapturesAt + unsigned(i)));
  }
  if (!code)
    return llvm::PoisonValue::get(l.closureType());
  llvm::Value *closure = llvm::PoisonValue::get(l.closureType());
  closure = b.CreateInsertValue(closure, code, {0u});
  return b.CreateInsertValue(closure, env, {1u});
}

void FunctionEmitter::emit(const ir::Instr &in) {
  switch (in.op) {
  case Op::ConstInt:
    return define(b.getInt64(uint64_t(in.imm)));
  case Op::ConstFloat:
    return define(llvm::ConstantFP::get(resultLLVMType(), in.fimm));
  case Op::ConstBool:
    return define(b.getInt1(in.imm != 0));
  case Op::ConstString:
    return define(l.stringLiteral(in.str));
  case Op::Undef:
    // Never read; a zero value keeps any accidental read deterministic.
    return define(llvm::Constant::getNullValue(resultLLVMType()));

  case Op::Add:
  case Op::Sub:
  case Op::Mul:
  case Op::Div:
  case Op::Rem:
  case Op::Neg:
    return define(emitArith(in));
  case Op::Concat:
    return define(b.CreateCall(l.runtime(RtFn::StringConcat), {operand(0), operand(1)}));

  case Op::CmpEq:
  case Op::CmpNe:
  case Op::CmpLt:
  case Op::CmpLe:
  case Op::CmpGt:
  case Op::CmpGe:
    return define(emitCompare(in));
  case Op::Not:
    return define(b.CreateNot(operand(0)));
  case Op::Convert:
    return define(emitConvert());

  case Op::Sin:
  case Op::Cos:
  case Op::Tan:
  case Op::Exp:
  case Op::Log:
  case Op::Log1p:
  case Op::Sqrt:
  case Op::Tanh:
  case Op::Sigmoid:
  case Op::Relu:
  case Op::Abs:
  case Op::Floor:
  case Op::Ceil:
  case Op::Round:
  case Op::Sign:
  case Op::Pow:
  case Op::Min:
  case Op::Max:
    return define(emitMath(in));

  case Op::Select:
    return define(b.CreateSelect(operand(0), operand(1), operand(2)));
  case Op::StopGradient:
    return define(operand(0));
  case Op::Derivative:
    return internal("'derivative' must be removed by differentiation before code generation");

  case Op::Tuple:
  case Op::StructMake: {
    llvm::Value *agg = llvm::PoisonValue::get(resultLLVMType());
    if (in.operands.empty())
      return define(llvm::Constant::getNullValue(resultLLVMType()));
    for (size_t i = 0; i < in.operands.size(); ++i)
      agg = b.CreateInsertValue(agg, operand(i), {unsigned(i)});
    return define(agg);
  }
  case Op::TupleGet:
  case Op::StructGet:
    return define(b.CreateExtractValue(operand(0), {unsigned(in.imm)}));
  case Op::TupleSet:
  case Op::StructSet:
    return define(b.CreateInsertValue(operand(0), operand(1), {unsigned(in.imm)}));

  case Op::ArrayMake: {
    auto *arrayTy = sema::asArray(resultType());
    if (!arrayTy)
      return internal("'array' must produce an array");
    llvm::Type *elemTy = l.lower(arrayTy->element);
    llvm::Value *array =
        b.CreateCall(l.runtime(RtFn::ArrayNew),
                     {b.getInt64(l.allocSize(elemTy)), b.getInt64(in.operands.size())}, "array");
    for (size_t i = 0; i < in.operands.size(); ++i)
      l.arrayElementAccess(
          b.CreateStore(operand(i), l.arrayElementPtr(b, array, b.getInt64(i), elemTy)));
    return define(array);
  }
  case Op::ArrayRepeat: {
    llvm::Value *v = operand(0);
    llvm::Value *tmp = entryAlloca(v->getType());
    b.CreateStore(v, tmp);
    llvm::Value *array =
        b.CreateCall(l.runtime(RtFn::ArrayRepeat), {tmp, b.getInt64(l.allocSize(v->getType())),
                                                    operand(1), l.locString(in.loc)});
    l.retainElements(b, array, resultType()); // the operand is borrowed (Note [Array ownership])
    return define(array);
  }
  case Op::ArrayCount:
    return define(l.arrayHeaderAccess(
        b.CreateLoad(l.i64(), l.bytePtr(b, operand(0), kArrayCountOffset), "count")));
  case Op::ArrayGet: {
    llvm::Value *array = operand(0), *index = operand(1);
    if (in.imm != 1) // imm 1: a tape read by generated code, in range by construction
      boundsChecked(array, index);
    llvm::Type *elemTy = resultLLVMType();
    return define(
        l.arrayElementAccess(b.CreateLoad(elemTy, l.arrayElementPtr(b, array, index, elemTy))));
  }
  case Op::ArraySet: {
    llvm::Value *array = operand(0), *index = operand(1), *v = operand(2);
    boundsChecked(array, index);
    const sema::Type *elem = sema::asArray(operandType(0))->element;
    // The array's reference to the element it replaces goes (Note [Array ownership]).
    auto releaseOld = [&](llvm::Value *into) {
      if (ir::isRefcounted(elem))
        l.emitRefcount(b,
                       l.arrayElementAccess(b.CreateLoad(
                           v->getType(), l.arrayElementPtr(b, into, index, v->getType()))),
                       elem, /*retain=*/false);
    };
    if (in.imm == 1) { // no other live value sees the buffer (ir/InPlace.cpp)
      releaseOld(array);
      l.arrayElementAccess(b.CreateStore(v, l.arrayElementPtr(b, array, index, v->getType())));
      return define(array);
    }
    llvm::Value *copy = b.CreateCall(l.runtime(RtFn::ArrayClone), {array, b.getInt64(0)});
    l.retainElements(b, copy, operandType(0));
    releaseOld(copy);
    l.arrayElementAccess(b.CreateStore(v, l.arrayElementPtr(b, copy, index, v->getType())));
    return define(copy);
  }
  case Op::ArrayAppend:
    if (in.imm != 1) {
      llvm::Value *v = operand(1);
      llvm::Value *copy = b.CreateCall(l.runtime(RtFn::ArrayClone), {operand(0), b.getInt64(1)});
      l.retainElements(b, copy, operandType(0));
      llvm::Value *countPtr = l.bytePtr(b, copy, kArrayCountOffset);
      llvm::Value *count = l.arrayHeaderAccess(b.CreateLoad(l.i64(), countPtr, "count"));
      l.arrayElementAccess(b.CreateStore(v, l.arrayElementPtr(b, copy, count, v->getType())));
      l.arrayHeaderAccess(
          b.CreateStore(b.CreateAdd(count, b.getInt64(1), "", true, true), countPtr));
      return define(copy);
    }
    [[fallthrough]]; // in place (ir/InPlace.cpp): a push, grown without the tape cache
  case Op::StackPush: {
    // Pushes operands 1..k. Fast path inline: room left in place; otherwise
    // the runtime grows the array.
    size_t k = in.operands.size() - 1;
    llvm::Value *old = operand(0);
    llvm::Value *oldCount =
        l.arrayHeaderAccess(b.CreateLoad(l.i64(), l.bytePtr(b, old, kArrayCountOffset)));
    llvm::Value *capacity =
        l.arrayHeaderAccess(b.CreateLoad(l.i64(), l.bytePtr(b, old, kArrayCapacityOffset)));
    llvm::Function *fn = b.GetInsertBlock()->getParent();
    llvm::BasicBlock *from = b.GetInsertBlock();
    auto *grow = llvm::BasicBlock::Create(fn->getContext(), "push.grow", fn);
    auto *cont = llvm::BasicBlock::Create(fn->getContext(), "push", fn);
    llvm::MDBuilder md(fn->getContext());
    b.CreateCondBr(b.CreateICmpSGT(b.CreateAdd(oldCount, b.getInt64(int64_t(k))), capacity), grow,
                   cont, md.createUnlikelyBranchWeights());
    b.SetInsertPoint(grow);
    llvm::Value *grown = in.op == Op::StackPush ? b.CreateCall(l.runtime(RtFn::ArrayReserve),
                                                               {old, b.getInt64(int64_t(k))})
                                                : b.CreateCall(l.runtime(RtFn::ArrayGrow1), {old});
    b.CreateBr(cont);
    b.SetInsertPoint(cont);
    llvm::PHINode *array = b.CreatePHI(old->getType(), 2);
    array->addIncoming(old, from);
    array->addIncoming(grown, grow);
    // The count is oldCount on both paths: growing keeps the elements.
    for (size_t j = 0; j < k; ++j) {
      llvm::Value *v = operand(j + 1);
      l.arrayElementAccess(b.CreateStore(
          v, l.arrayElementPtr(b, array, b.CreateAdd(oldCount, b.getInt64(int64_t(j))),
                               v->getType())));
    }
    l.arrayHeaderAccess(b.CreateStore(b.CreateAdd(oldCount, b.getInt64(int64_t(k)), "", true, true),
                                      l.bytePtr(b, array, kArrayCountOffset)));
    return define(array);
  }
  case Op::ArrayAccum: {
    if (in.imm == 1) { // long enough already (ir/InPlace.cpp, Note [Accumulations in range])
      llvm::Value *array = operand(0), *v = operand(2);
      llvm::Value *ptr = l.arrayElementPtr(b, array, operand(1), v->getType());
      l.arrayElementAccess(b.CreateStore(
          b.CreateFAdd(l.arrayElementAccess(b.CreateLoad(v->getType(), ptr)), v), ptr));
      return define(array);
    }
    // Fast path inline: the accumulator already has its length.
    llvm::Value *old = operand(0), *n = operand(3);
    llvm::Value *oldCount =
        l.arrayHeaderAccess(b.CreateLoad(l.i64(), l.bytePtr(b, old, kArrayCountOffset)));
    llvm::Function *fn = b.GetInsertBlock()->getParent();
    llvm::BasicBlock *from = b.GetInsertBlock();
    auto *pad = llvm::BasicBlock::Create(fn->getContext(), "accum.pad", fn);
    auto *cont = llvm::BasicBlock::Create(fn->getContext(), "accum", fn);
    llvm::MDBuilder md(fn->getContext());
    b.CreateCondBr(b.CreateICmpSLT(oldCount, n), pad, cont, md.createUnlikelyBranchWeights());
    b.SetInsertPoint(pad);
    llvm::Value *padded = b.CreateCall(l.runtime(RtFn::ArrayMaterialize), {old, n});
    // The accumulation consumed `old`'s reference (Note [Array ownership]).
    b.CreateCall(l.runtime(RtFn::ArrayRelease), {old});
    b.CreateBr(cont);
    b.SetInsertPoint(cont);
    llvm::PHINode *array = b.CreatePHI(old->getType(), 2);
    array->addIncoming(old, from);
    array->addIncoming(padded, pad);
    // The index is below n by construction (see ir/IROps.def).
    llvm::Value *index = operand(1), *v = operand(2);
    llvm::Value *ptr = l.arrayElementPtr(b, array, index, v->getType());
    l.arrayElementAccess(
        b.CreateStore(b.CreateFAdd(l.arrayElementAccess(b.CreateLoad(v->getType(), ptr)), v), ptr));
    return define(array);
  }
  case Op::ArrayCopy: {
    llvm::Value *copy = b.CreateCall(l.runtime(RtFn::ArrayClone), {operand(0), b.getInt64(0)});
    l.retainElements(b, copy, operandType(0));
    return define(copy);
  }
  case Op::ArrayMaterialize:
    return define(b.CreateCall(l.runtime(RtFn::ArrayMaterialize), {operand(0), operand(1)}));
  case Op::ArrayTruncate: {
    llvm::Value *array = operand(0), *n = operand(1);
    // The elements cut off go with the array's references to them.
    l.elementRefcounts(b, array, operandType(0), n, /*retain=*/false);
    llvm::Value *countPtr = l.bytePtr(b, array, kArrayCountOffset);
    llvm::Value *count = l.arrayHeaderAccess(b.CreateLoad(l.i64(), countPtr, "count"));
    llvm::Value *shorter = b.CreateICmpSLT(n, count);
    l.arrayHeaderAccess(b.CreateStore(b.CreateSelect(shorter, n, count), countPtr));
    return define(array);
  }
  case Op::Call: {
    if (in.callee.index >= l.dir.functions.size())
      return internal("'call' names an unknown function");
    std::vector<llvm::Value *> args;
    for (size_t i = 0; i < in.operands.size(); ++i)
      args.push_back(operand(i));
    return define(l.emitCall(b, in.callee, args));
  }
  case Op::MakeClosure:
    return define(emitMakeClosure(in));
  case Op::CallClosure: {
    auto *fnTy = sema::asFunction(operandType(0));
    if (!fnTy)
      return internal("'call.closure' needs a function value");
    llvm::Value *closure = operand(0);
    std::vector<llvm::Value *> args{b.CreateExtractValue(closure, {1u})};
    for (size_t i = 1; i < in.operands.size(); ++i)
      args.push_back(operand(i));
    llvm::Value *code = b.CreateExtractValue(closure, {0u});
    return define(b.CreateCall(l.closureCodeType(fnTy), code, args));
  }

  case Op::Tensor: {
    std::vector<llvm::Value *> ops;
    std::vector<const sema::Type *> types;
    for (size_t i = 0; i < in.operands.size(); ++i) {
      ops.push_back(operand(i));
      types.push_back(operandType(i));
    }
    if (l.failed())
      return;
    if (ir::tensorOpOf(in.imm) == ir::TensorOp::Fused)
      return define(l.emitFused(b, f, in, ops));
    return define(l.emitTensor(b, in, ops, types, resultType()));
  }
  case Op::Seed:
    l.emitSeed(b, operand(0));
    return;
  case Op::Retain:
  case Op::Release:
    l.emitRefcount(b, operand(0), operandType(0), in.op == Op::Retain);
    return;
  case Op::Print:
    for (size_t i = 0; i < in.operands.size(); ++i) {
      if (i)
        b.CreateCall(l.runtime(RtFn::PrintCStr), {l.cString(" ")});
      l.emitPrintValue(b, operand(i), operandType(i), false);
    }
    b.CreateCall(l.runtime(RtFn::PrintNewline), {});
    return;
  case Op::Assert: {
    llvm::Value *cond = operand(0), *message = operand(1);
    l.emitFailIf(b, b.CreateNot(cond), [&](Builder &fb) {
      fb.CreateCall(l.runtime(RtFn::FailAssert), {l.locString(in.loc), message});
    });
    return;
  }
  case Op::Args:
    return define(b.CreateCall(l.runtime(RtFn::Args), {}, "args"));
  case Op::Clock:
    return define(b.CreateCall(l.runtime(RtFn::Clock), {}, "clock"));
  case Op::Environment:
    return define(b.CreateCall(l.runtime(RtFn::Environment), {operand(0)}, "env"));
  case Op::Exit:
    b.CreateCall(l.runtime(RtFn::Exit), {operand(0)});
    return;

  case Op::Br:
    if (in.targets.size() != 1)
      return internal("'br' needs one target");
    emitBranchArgs(in.targets[0]);
    if (!l.failed())
      b.CreateBr(blocks[in.targets[0].block.index]);
    return;
  case Op::CondBr:
    return emitCondBr(in);
  case Op::Ret: {
    llvm::Value *v = operand(0);
    if (v->getType() != fn->getReturnType())
      return internal("'ret' returns a value of the wrong type");
    b.CreateRet(v);
    return;
  }
  case Op::Unreachable:
    b.CreateUnreachable();
    return;
  }
}

} // namespace

void Lowering::emitBody(ir::FuncId f) { FunctionEmitter(*this, f).run(); }

} // namespace dlc::codegen
