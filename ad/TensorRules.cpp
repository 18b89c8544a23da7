// Derivatives of the tensor operations (ir/TensorOps.def): which ones carry
// derivatives, their tangent rules (forward mode) and adjoint rules (reverse
// mode), and what each adjoint rule reads of the primal computation. Where
// stdlib/derivatives.dl has a rule for the operation (arithmetic, the math
// builtins, reductions, matmul, ...; Note [Derivative rules in DL] in
// sema/DerivativeRules.cpp), tensorTangent and tensorAdjoint call it; the
// rules below are the operations DL cannot express (indexing, scatters,
// convolution, pooling and AD's own adjoint operations).
//
// Note [Broadcast adjoints]
// A binary operation broadcasts its operands to the result's shape, so the
// adjoint of an operand is the result's adjoint summed back to the
// operand's shape (`tensor.sum_to`, a no-op when the shapes agree). Forward
// tangents keep the primal's shape: a sum of tangents of differently shaped
// operands is broadcast to the result's shape (`tensor.broadcast_to`).
// Reductions broadcast their adjoint back over the reduced axis
// (`tensor.expand_axis`). Seeds and adjoints may be the zero tensor (Note
// [Zero tangent tensors] in ir/Builder.cpp): every rule applies only runtime
// operations that are linear in the seed, which map zero to zero.
#include "ad/ADImpl.h"

namespace dlc::ad {

using ir::TensorOp;

namespace {

TensorOp opOf(const Instr &in) { return ir::tensorOpOf(in.imm); }

/// Emits tensor ops with the instruction's location (for shape errors).
struct Emit {
  Builder &b;
  const Type *t; // the tensor type of the rule's values

  ValueId op(TensorOp o, std::vector<ValueId> xs, const Type *ty = nullptr) {
    return b.tensor(o, ty ? ty : t, std::move(xs));
  }
  ValueId sumTo(ValueId g, ValueId like) { return op(TensorOp::SumTo, {g, like}); }
};

} // namespace

bool tensorPropagates(const Instr &in) {
  switch (opOf(in)) {
  case TensorOp::Scalar:
  case TensorOp::Full:
  case TensorOp::Item:
  case TensorOp::Index:
  case TensorOp::Slice:
  case TensorOp::IndexBackward:
  case TensorOp::SliceBackward:
  case TensorOp::Neg:
  case TensorOp::Exp:
  case TensorOp::Log:
  case TensorOp::Log1p:
  case TensorOp::Sqrt:
  case TensorOp::Rsqrt:
  case TensorOp::Abs:
  case TensorOp::Sin:
  case TensorOp::Cos:
  case TensorOp::Tanh:
  case TensorOp::Sigmoid:
  case TensorOp::Relu:
  case TensorOp::Add:
  case TensorOp::Sub:
  case TensorOp::Mul:
  case TensorOp::Div:
  case TensorOp::Pow:
  case TensorOp::Min:
  case TensorOp::Max:
  case TensorOp::Where:
  case TensorOp::Convert:
  case TensorOp::SumAll:
  case TensorOp::MeanAll:
  case TensorOp::MaxAll:
  case TensorOp::MinAll:
  case TensorOp::LogSumExpAll:
  case TensorOp::SumAxis:
  case TensorOp::MeanAxis:
  case TensorOp::MaxAxis:
  case TensorOp::MinAxis:
  case TensorOp::LogSumExpAxis:
  case TensorOp::SumTo:
  case TensorOp::BroadcastTo:
  case TensorOp::ExpandAxis:
  case TensorOp::Materialize:
  case TensorOp::MatMul:
  case TensorOp::MatMulNT:
  case TensorOp::MatMulTN:
  case TensorOp::Transpose:
  case TensorOp::Permute:
  case TensorOp::PermuteBackward:
  case TensorOp::Reshape:
  case TensorOp::ReshapeLike:
  case TensorOp::Flatten:
  case TensorOp::Squeeze:
  case TensorOp::Unsqueeze:
  case TensorOp::Rows:
  case TensorOp::Narrow:
  case TensorOp::NarrowBackward:
  case TensorOp::Concat:
  case TensorOp::Join:
  case TensorOp::JoinTangent:
  case TensorOp::JoinBackward:
  case TensorOp::Gather:
  case TensorOp::GatherBackward:
  case TensorOp::Conv2d:
  case TensorOp::Conv2dBackwardInput:
  case TensorOp::Conv2dBackwardFilter:
  case TensorOp::MaxPool2d:
  case TensorOp::AvgPool2d:
  case TensorOp::MaxPool2dBackward:
  case TensorOp::AvgPool2dBackward:
  case TensorOp::MaxPool2dTangent:
    return true;
  default:
    return false;
  }
}

bool tensorZeroAlmostEverywhere(const Instr &in) {
  switch (opOf(in)) {
  case TensorOp::Sign:
  case TensorOp::Floor:
  case TensorOp::Ceil:
  case TensorOp::Round:
  case TensorOp::Step:
    return true;
  default:
    return false;
  }
}

bool tensorControlOperand(const Instr &in, size_t i) {
  switch (opOf(in)) {
  case TensorOp::SumTo:
  case TensorOp::BroadcastTo:
  case TensorOp::ReshapeLike:
  case TensorOp::Materialize:
  case TensorOp::ExpandAxis:
  case TensorOp::IndexBackward:
  case TensorOp::SliceBackward:
  case TensorOp::NarrowBackward:
  case TensorOp::JoinTangent:
  case TensorOp::JoinBackward:
    return i == 1; // `like` (the parts): only shapes are read
  case TensorOp::GatherBackward:
    return i == 1 || i == 2;
  case TensorOp::Conv2dBackwardInput:
    return i == 1; // x: only its shape is read
  case TensorOp::Conv2dBackwardFilter:
    return i == 2; // the filter: only its shape
  case TensorOp::MaxPool2dBackward:
  case TensorOp::AvgPool2dBackward:
  case TensorOp::MaxPool2dTangent:
    return i == 1; // x: where its maxima are, or only its shape
  case TensorOp::Gather:
    return i == 1; // the indices
  case TensorOp::FillLike:
  case TensorOp::DropoutMask:
  case TensorOp::Dim:
    return i == 0;
  case TensorOp::Where:
    return i == 0;
  case TensorOp::SaveNpy:
  case TensorOp::SaveModel:
  case TensorOp::LoadModel:
    return true; // written to a file, or `like`s giving the shapes the file must have
  default:
    return false;
  }
}

const char *tensorOpSpelling(const Instr &in) {
  switch (opOf(in)) {
  case TensorOp::Eq: return "==";
  case TensorOp::Ne: return "!=";
  case TensorOp::Lt: return "<";
  case TensorOp::Le: return "<=";
  case TensorOp::Gt: return ">";
  case TensorOp::Ge: return ">=";
  case TensorOp::ArgmaxAll:
  case TensorOp::ArgmaxAxis: return "argmax";
  case TensorOp::FromArray: return "Tensor(...)";
  default: return ir::tensorOpName(opOf(in));
  }
}

namespace {

/// A tensor operand a DL rule takes a tangent for: Float or Double elements.
bool differentiableTensor(const Type *t) {
  auto *tt = sema::asTensor(t);
  return tt && tt->element->isFloatingPoint();
}

} // namespace

FuncId tensorRuleFor(const ir::Module &m, const Instr &in,
                     const std::function<const Type *(size_t)> &operandType, bool vjp) {
  // The element type of the first Float or Double tensor operand (`where`
  // leads with its Tensor<Bool> condition).
  for (size_t i = 0; i < in.operands.size(); ++i)
    if (differentiableTensor(operandType(i)))
      return m.tensorRule(opOf(in), sema::asTensor(operandType(i))->element, vjp);
  return FuncId{};
}

/// Which parameters of a rule its body reads: the tape keeps only those
/// operands (a `@vjp` that takes the result may not read the operand).
static std::vector<bool> paramsRead(const Function &rule) {
  const std::vector<ValueId> &params = rule.blocks[0].args;
  std::vector<bool> read(params.size(), false);
  auto mark = [&](ValueId v) {
    for (size_t i = 0; i < params.size(); ++i)
      if (params[i] == v)
        read[i] = true;
  };
  for (const ir::Block &blk : rule.blocks)
    for (const Instr &in : blk.instrs) {
      for (ValueId o : in.operands)
        mark(o);
      for (const ir::Target &t : in.targets)
        for (ValueId a : t.args)
          mark(a);
    }
  return read;
}

void tensorAdjointNeeds(const ir::Module &m, const std::function<const Type *(size_t)> &operandType,
                        const Instr &in, std::vector<size_t> &operands, bool &result) {
  result = false;
  if (FuncId rule = tensorRuleFor(m, in, operandType, true); rule.isValid()) {
    // The operands the rule reads, and the result when it takes it.
    const Function &fn = m.function(rule);
    std::vector<bool> read = paramsRead(fn);
    for (size_t i = 0; i < in.operands.size(); ++i)
      if (read[i])
        operands.push_back(i);
    result = fn.ruleTakesResult && read[in.operands.size()];
    return;
  }
  auto need = [&](std::initializer_list<size_t> is) {
    for (size_t i : is)
      if (i < in.operands.size())
        operands.push_back(i);
  };
  switch (opOf(in)) {
  case TensorOp::Item:
  case TensorOp::Index:
  case TensorOp::Slice:
  case TensorOp::ReshapeLike:
  case TensorOp::BroadcastTo:
  case TensorOp::SumTo:
    need({0});
    if (opOf(in) == TensorOp::Index || opOf(in) == TensorOp::Slice)
      for (size_t i = 1; i < in.operands.size(); ++i)
        operands.push_back(i);
    return;
  case TensorOp::IndexBackward:
  case TensorOp::SliceBackward:
    for (size_t i = 2; i < in.operands.size(); ++i)
      operands.push_back(i);
    return;
  case TensorOp::Permute:
  case TensorOp::PermuteBackward:
    need({1});
    return;
  case TensorOp::Squeeze:
  case TensorOp::Rows:
    need({0});
    return;
  case TensorOp::Narrow:
  case TensorOp::Concat:
  case TensorOp::Join:
  case TensorOp::JoinTangent:
  case TensorOp::JoinBackward:
  case TensorOp::Gather:
    for (size_t i = 0; i < in.operands.size(); ++i)
      operands.push_back(i);
    return;
  case TensorOp::NarrowBackward:
    need({2, 3, 4});
    return;
  case TensorOp::Conv2d:
  case TensorOp::Conv2dBackwardInput:
  case TensorOp::Conv2dBackwardFilter:
  case TensorOp::MaxPool2d:
  case TensorOp::AvgPool2d:
  case TensorOp::MaxPool2dBackward:
  case TensorOp::AvgPool2dBackward:
  case TensorOp::MaxPool2dTangent:
    for (size_t i = 0; i < in.operands.size(); ++i)
      operands.push_back(i);
    return;
  case TensorOp::GatherBackward:
    need({2, 3});
    return;
  case TensorOp::ExpandAxis:
    need({0, 2});
    return;
  case TensorOp::MatMulNT:
  case TensorOp::MatMulTN:
    need({0, 1});
    return;
  case TensorOp::Convert:
    return;
  default:
    return;
  }
}

ValueId tensorTangent(Builder &b, const Instr &in, const std::function<ValueId(size_t)> &A,
                      const std::function<ValueId(size_t)> &T,
                      const std::function<bool(size_t)> &on, ValueId r) {
  const Type *rt = b.f.typeOf(r);
  const Type *t = sema::asTensor(rt) ? rt : (in.operands.empty() ? rt : b.typeOf(A(0)));
  auto typeOfA = [&](size_t i) { return b.typeOf(A(i)); };
  if (FuncId rule = tensorRuleFor(b.module, in, typeOfA, false); rule.isValid()) {
    // The @jvp takes the operands, then the tangents of the Float or Double
    // tensor ones, and returns (value, tangent); the value is the primal's,
    // dropped (ir/Inline.cpp merges its computation with the primal's).
    std::vector<ValueId> args, tangents;
    for (size_t i = 0; i < in.operands.size(); ++i) {
      args.push_back(A(i));
      if (differentiableTensor(b.typeOf(args.back())))
        tangents.push_back(on(i) ? T(i) : b.zero(b.typeOf(args.back())));
    }
    args.insert(args.end(), tangents.begin(), tangents.end());
    // The call (and so its inlined body, ir/Inline.cpp) has the operation's
    // location, for any runtime error in it.
    SourceLoc saved = b.loc;
    b.loc = in.loc;
    ValueId t = b.get(b.call(rule, std::move(args)), 1);
    b.loc = saved;
    return t;
  }
  Emit e{b, t};
  SourceLoc saved = b.loc;
  b.loc = in.loc;
  auto T0 = [&]() { return T(0); };
  ValueId out;
  switch (opOf(in)) {
  case TensorOp::Scalar:
  case TensorOp::Full:
  case TensorOp::Index:
  case TensorOp::Slice:
  case TensorOp::IndexBackward:
  case TensorOp::SliceBackward:
  case TensorOp::Permute:
  case TensorOp::PermuteBackward:
  case TensorOp::ReshapeLike:
  case TensorOp::SumTo:
  case TensorOp::BroadcastTo:
  case TensorOp::ExpandAxis:
  case TensorOp::Materialize:
  case TensorOp::Convert:
  case TensorOp::Squeeze:
  case TensorOp::Rows:
  case TensorOp::Narrow:
  case TensorOp::NarrowBackward:
  case TensorOp::Gather:
  case TensorOp::GatherBackward: {
    // Linear in operand 0 (Full: in operand 1): the same op on the tangent.
    size_t lin = opOf(in) == TensorOp::Full ? 1 : 0;
    std::vector<ValueId> ops;
    for (size_t i = 0; i < in.operands.size(); ++i)
      ops.push_back(i == lin ? T(i) : A(i));
    out = b.tensor(opOf(in), rt, ops);
    break;
  }
  case TensorOp::Item:
    out = b.tensor(TensorOp::SumAll, rt, {T0()});
    break;
  case TensorOp::Conv2d:
  case TensorOp::Conv2dBackwardInput:
  case TensorOp::Conv2dBackwardFilter: {
    // Bilinear: conv2d in (x, filter), backward_input in (g, filter),
    // backward_filter in (g, x); the other operand gives a shape. Zero
    // tangents are materialized, as the convolutions need real tensors.
    size_t second = opOf(in) == TensorOp::Conv2d ? 1 : opOf(in) == TensorOp::Conv2dBackwardInput ? 2 : 1;
    std::vector<ValueId> ops;
    for (size_t i = 0; i < in.operands.size(); ++i)
      ops.push_back(A(i));
    auto with = [&](size_t i) {
      std::vector<ValueId> o = ops;
      o[i] = e.op(TensorOp::Materialize, {T(i), A(i)});
      return e.op(opOf(in), o);
    };
    ValueId x = on(0) ? with(0) : b.zero(rt);
    ValueId y = on(second) ? with(second) : b.zero(rt);
    out = e.op(TensorOp::Add, {x, y});
    break;
  }
  case TensorOp::MaxPool2d:
    out = e.op(TensorOp::MaxPool2dTangent, {T0(), A(0), A(1), A(2), A(3)});
    break;
  case TensorOp::AvgPool2d:
    out = e.op(TensorOp::AvgPool2d, {e.op(TensorOp::Materialize, {T0(), A(0)}), A(1), A(2), A(3)});
    break;
  case TensorOp::MaxPool2dBackward:
  case TensorOp::AvgPool2dBackward:
  case TensorOp::MaxPool2dTangent:
    // Linear in operand 0; x only places it.
    out = e.op(opOf(in), {T0(), A(1), A(2), A(3), A(4)});
    break;
  case TensorOp::Concat: {
    // The tangents joined; a zero tangent takes its part's shape.
    std::vector<ValueId> parts;
    size_t n = in.operands.size() - 1;
    for (size_t i = 0; i < n; ++i)
      parts.push_back(e.op(TensorOp::Materialize, {on(i) ? T(i) : b.zero(t), A(i)}));
    parts.push_back(A(n));
    out = e.op(TensorOp::Concat, parts);
    break;
  }
  case TensorOp::Join:
    // The tangents joined; a zero or missing one takes its part's shape.
    out = e.op(TensorOp::JoinTangent, {T(0), A(0), A(1), A(2)});
    break;
  case TensorOp::JoinTangent:
    out = e.op(TensorOp::JoinTangent, {T(0), A(1), A(2), A(3)});
    break;
  case TensorOp::JoinBackward:
    out = e.op(TensorOp::JoinBackward, {T(0), A(1), A(2), A(3)}, b.typeOf(A(1)));
    break;
  case TensorOp::MatMulNT:
  case TensorOp::MatMulTN: {
    ValueId x = on(0) ? e.op(opOf(in), {T(0), A(1)}) : b.zero(t);
    ValueId y = on(1) ? e.op(opOf(in), {A(0), T(1)}) : b.zero(t);
    out = e.op(TensorOp::Add, {x, y});
    break;
  }
  default:
    DLC_UNREACHABLE("no tangent rule for a tensor op that propagates activity");
  }
  b.loc = saved;
  return out;
}

void tensorAdjoint(Builder &b, const Instr &in, const std::function<ValueId(size_t)> &A,
                   const std::function<ValueId()> &R, const std::function<bool(size_t)> &on,
                   const std::function<const Type *(size_t)> &operandType, ValueId g,
                   const std::function<void(size_t, ValueId)> &accum) {
  const Type *gt = b.typeOf(g);
  const Type *t = sema::asTensor(gt) ? gt : operandType(0);
  if (FuncId rule = tensorRuleFor(b.module, in, operandType, true); rule.isValid()) {
    // The @vjp takes the operands, then the seed, and returns the cotangents
    // of the Float or Double tensor operands (a tuple when several).
    // A parameter the rule does not read gets `undef`: the tape did not keep
    // it (tensorAdjointNeeds), and inlining drops it.
    const Function &fn = b.module.function(rule);
    std::vector<bool> read = paramsRead(fn);
    auto undef = [&](size_t p) { return b.emit(Op::Undef, fn.type->params[p], {}); };
    std::vector<ValueId> args;
    for (size_t i = 0; i < in.operands.size(); ++i)
      args.push_back(read[i] ? A(i) : undef(i));
    if (fn.ruleTakesResult)
      args.push_back(read[in.operands.size()] ? R() : undef(in.operands.size()));
    args.push_back(g);
    SourceLoc saved = b.loc; // the operation's location, as in tensorTangent
    b.loc = in.loc;
    ValueId r = b.call(rule, std::move(args));
    b.loc = saved;
    bool several = sema::asTuple(b.typeOf(r)) != nullptr;
    size_t k = 0;
    for (size_t i = 0; i < in.operands.size(); ++i) {
      if (!differentiableTensor(operandType(i)))
        continue;
      if (on(i))
        accum(i, several ? b.get(r, k) : r);
      ++k;
    }
    return;
  }
  Emit e{b, t};
  SourceLoc saved = b.loc;
  b.loc = in.loc;
  switch (opOf(in)) {
  case TensorOp::Scalar:
  case TensorOp::Full: {
    // The scalar broadcast everywhere: the sum of the adjoint.
    size_t v = opOf(in) == TensorOp::Full ? 1 : 0;
    const Type *st = operandType(v);
    ValueId s = b.tensor(TensorOp::SumAll, sema::asTensor(gt)->element, {g});
    if (st != b.typeOf(s))
      s = b.emit(Op::Convert, st, {s});
    accum(v, s);
    break;
  }
  case TensorOp::Item:
    accum(0, b.tensor(TensorOp::FillLike, operandType(0), {A(0), g}));
    break;
  case TensorOp::Index:
  case TensorOp::Slice: {
    std::vector<ValueId> ops{g, A(0)};
    for (size_t i = 1; i < in.operands.size(); ++i)
      ops.push_back(A(i));
    accum(0, e.op(opOf(in) == TensorOp::Index ? TensorOp::IndexBackward : TensorOp::SliceBackward, ops));
    break;
  }
  case TensorOp::IndexBackward:
  case TensorOp::SliceBackward: {
    std::vector<ValueId> ops{g};
    for (size_t i = 2; i < in.operands.size(); ++i)
      ops.push_back(A(i));
    accum(0, e.op(opOf(in) == TensorOp::IndexBackward ? TensorOp::Index : TensorOp::Slice, ops));
    break;
  }
  case TensorOp::Convert:
    accum(0, b.tensor(TensorOp::Convert, operandType(0), {g}));
    break;
  case TensorOp::SumTo:
    accum(0, e.op(TensorOp::BroadcastTo, {g, A(0)}));
    break;
  case TensorOp::BroadcastTo:
    accum(0, e.sumTo(g, A(0)));
    break;
  case TensorOp::ExpandAxis:
    // The reduction's adjoint broadcast g back; its own adjoint sums again.
    accum(0, e.sumTo(e.op(TensorOp::SumAxis, {g, A(2), b.constBool(true)}), A(0)));
    break;
  case TensorOp::Materialize:
    accum(0, g);
    break;
  case TensorOp::MatMulNT: // r = a b^T: da = g b, db = g^T a
    if (on(0))
      accum(0, e.sumTo(e.op(TensorOp::MatMul, {g, A(1)}), A(0)));
    if (on(1))
      accum(1, e.sumTo(e.op(TensorOp::MatMulTN, {g, A(0)}), A(1)));
    break;
  case TensorOp::MatMulTN: // r = a^T b: da = b g^T, db = a g
    if (on(0))
      accum(0, e.sumTo(e.op(TensorOp::MatMulNT, {A(1), g}), A(0)));
    if (on(1))
      accum(1, e.sumTo(e.op(TensorOp::MatMul, {A(0), g}), A(1)));
    break;
  case TensorOp::Permute:
    accum(0, e.op(TensorOp::PermuteBackward, {g, A(1)}));
    break;
  case TensorOp::PermuteBackward:
    accum(0, e.op(TensorOp::Permute, {g, A(1)}));
    break;
  case TensorOp::ReshapeLike:
  case TensorOp::Squeeze:
  case TensorOp::Rows:
    accum(0, e.op(TensorOp::ReshapeLike, {g, A(0)}));
    break;
  case TensorOp::Narrow:
    accum(0, e.op(TensorOp::NarrowBackward, {g, A(0), A(1), A(2), A(3)}));
    break;
  case TensorOp::NarrowBackward:
    accum(0, e.op(TensorOp::Narrow, {g, A(2), A(3), A(4)}));
    break;
  case TensorOp::Concat: {
    // Each part's adjoint is its stretch of g along the axis.
    size_t n = in.operands.size() - 1;
    const Type *intTy = b.types().intType();
    ValueId axis = A(n);
    ValueId lo = b.constInt(0);
    for (size_t i = 0; i < n; ++i) {
      ValueId hi = b.emit(Op::Add, intTy, {lo, b.tensor(TensorOp::Dim, intTy, {A(i), axis})});
      if (on(i))
        accum(i, e.op(TensorOp::Narrow, {g, axis, lo, hi}));
      lo = hi;
    }
    break;
  }
  case TensorOp::Join:
    // Each part's adjoint is its stretch of g (an array of them).
    accum(0, e.op(TensorOp::JoinBackward, {g, A(0), A(1), A(2)}, b.typeOf(A(0))));
    break;
  case TensorOp::JoinTangent:
    accum(0, e.op(TensorOp::JoinBackward, {g, A(1), A(2), A(3)}, b.typeOf(A(1))));
    break;
  case TensorOp::JoinBackward:
    // g is an array of the parts' adjoints: joined, a missing one as zeros.
    accum(0, e.op(TensorOp::JoinTangent, {g, A(1), A(2), A(3)}, b.typeOf(A(0))));
    break;
  case TensorOp::Gather:
    accum(0, e.op(TensorOp::GatherBackward, {g, A(0), A(1), A(2)}));
    break;
  case TensorOp::Conv2d:
    // r = conv(x, f): dx = backward_input(g), df = backward_filter(g).
    if (on(0))
      accum(0, e.op(TensorOp::Conv2dBackwardInput, {g, A(0), A(1), A(2), A(3)}));
    if (on(1))
      accum(1, e.op(TensorOp::Conv2dBackwardFilter, {g, A(0), A(1), A(2), A(3)}));
    break;
  case TensorOp::Conv2dBackwardInput: {
    // r = BI(h, x, f) with <G, BI(h, f)> = <conv(G, f), h> = <f, BF(h, G, f)>.
    ValueId G = e.op(TensorOp::Materialize, {g, A(1)});
    if (on(0))
      accum(0, e.op(TensorOp::Conv2d, {G, A(2), A(3), A(4)}));
    if (on(2))
      accum(2, e.op(TensorOp::Conv2dBackwardFilter, {A(0), G, A(2), A(3), A(4)}));
    break;
  }
  case TensorOp::Conv2dBackwardFilter: {
    // r = BF(h, x, f) with <G, BF(h, x)> = <conv(x, G), h> = <x, BI(h, x, G)>.
    ValueId G = e.op(TensorOp::Materialize, {g, A(2)});
    if (on(0))
      accum(0, e.op(TensorOp::Conv2d, {A(1), G, A(3), A(4)}));
    if (on(1))
      accum(1, e.op(TensorOp::Conv2dBackwardInput, {A(0), A(1), G, A(3), A(4)}));
    break;
  }
  case TensorOp::MaxPool2d:
    accum(0, e.op(TensorOp::MaxPool2dBackward, {g, A(0), A(1), A(2), A(3)}));
    break;
  case TensorOp::AvgPool2d:
    accum(0, e.op(TensorOp::AvgPool2dBackward, {g, A(0), A(1), A(2), A(3)}));
    break;
  case TensorOp::MaxPool2dBackward:
    // Scattering to the maxima is the transpose of reading at them.
    accum(0, e.op(TensorOp::MaxPool2dTangent, {g, A(1), A(2), A(3), A(4)}));
    break;
  case TensorOp::MaxPool2dTangent:
    accum(0, e.op(TensorOp::MaxPool2dBackward, {g, A(1), A(2), A(3), A(4)}));
    break;
  case TensorOp::AvgPool2dBackward:
    accum(0, e.op(TensorOp::AvgPool2d, {e.op(TensorOp::Materialize, {g, A(1)}), A(2), A(3), A(4)}));
    break;
  case TensorOp::GatherBackward:
    accum(0, e.op(TensorOp::Gather, {g, A(2), A(3)}));
    break;
  default:
    DLC_UNREACHABLE("no adjoint rule for a tensor op that propagates activity");
  }
  b.loc = saved;
}

} // namespace dlc::ad
