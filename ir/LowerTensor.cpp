// Lowering of tensor operations (LANGUAGE.md §6) to `tensor.*` instructions
// (ir/TensorOps.def). Scalars next to tensors become rank-0 tensors that
// broadcast; softmax and logSoftmax are lowered to logSumExp, so their
// derivatives come from their parts.
#include "ir/LowerImpl.h"

#include <algorithm>

namespace dlc::ir::lowering {

namespace {

TensorOp unaryOf(Builtin b) {
  switch (b) {
  case Builtin::Sin: return TensorOp::Sin;
  case Builtin::Cos: return TensorOp::Cos;
  case Builtin::Exp: return TensorOp::Exp;
  case Builtin::Log: return TensorOp::Log;
  case Builtin::Log1p: return TensorOp::Log1p;
  case Builtin::Sqrt: return TensorOp::Sqrt;
  case Builtin::Rsqrt: return TensorOp::Rsqrt;
  case Builtin::Tanh: return TensorOp::Tanh;
  case Builtin::Sigmoid: return TensorOp::Sigmoid;
  case Builtin::Relu: return TensorOp::Relu;
  case Builtin::Abs: return TensorOp::Abs;
  case Builtin::Floor: return TensorOp::Floor;
  case Builtin::Ceil: return TensorOp::Ceil;
  case Builtin::Round: return TensorOp::Round;
  case Builtin::Sign: return TensorOp::Sign;
  case Builtin::Step: return TensorOp::Step;
  default: return TensorOp::Zero; // not unary (tan has no tensor form)
  }
}

} // namespace

bool FunctionLowerer::isTensorCall(const CallExpr *c) const {
  auto b = Builtin(c->builtin);
  if (sema::isTensorBuiltin(b))
    return true;
  if (!sema::isMath1(b) && !sema::isMath2(b))
    return false;
  for (const Argument &a : c->args)
    if (a.value->type && a.value->type->kind == TypeKind::Tensor)
      return true;
  return false;
}

ValueId FunctionLowerer::toTensor(ValueId v, const Type *t, SourceLoc loc) {
  if (f.typeOf(v) == t)
    return v;
  return tensorOp(TensorOp::Scalar, t, {v}, loc);
}

namespace {

/// Whether save/load find Tensor, Float or Double values in `t` (arrays are
/// rejected by sema when they hold any).
bool holdsModelValues(const Type *t) {
  if (t->kind == TypeKind::Tensor || t->isFloatingPoint())
    return true;
  if (auto *st = sema::asStruct(t))
    return std::any_of(st->fields.begin(), st->fields.end(),
                       [](const sema::StructType::Field &f) { return holdsModelValues(f.type); });
  if (auto *tt = sema::asTuple(t))
    return std::any_of(tt->elements.begin(), tt->elements.end(), holdsModelValues);
  return false;
}

std::string joinPath(const std::string &path, const std::string &name) {
  return path.empty() ? name : path + "." + name;
}

} // namespace

// Note [Model files]
// ~~~~~~~~~~~~~~~~~~
// save(model, path) and load(&model, path) walk the model's type at compile
// time: every Tensor, Float and Double value reached through struct fields
// and tuple elements (`@noDerivative` fields included: running statistics
// must be saved too) becomes one (field path, tensor) pair, the path joining
// field names and tuple indices with dots ("l1.weight", "pair.0"); Float and
// Double values travel as rank-0 tensors. save is one `tensor.save_model`
// with the pairs as operands. load passes the model's current values as
// "like" tensors, which give the dtype and shape the file must have;
// `tensor.load_model` checks the whole file before it returns the tuple of
// new values, and only then are they written into the model, so a failed
// load leaves it unchanged. The runtime (runtime/model_io.c) has the format.
void FunctionLowerer::modelValues(ValueId v, const Type *t, const std::string &path,
                                  std::vector<std::pair<std::string, ValueId>> &out, SourceLoc loc) {
  if (t->kind == TypeKind::Tensor) {
    out.emplace_back(path, v);
  } else if (t->isFloatingPoint()) {
    out.emplace_back(path, tensorOp(TensorOp::Scalar, types().tensorType(t), {v}, loc));
  } else if (auto *st = sema::asStruct(t)) {
    for (size_t i = 0; i < st->fields.size(); ++i)
      if (holdsModelValues(st->fields[i].type))
        modelValues(emit(Op::StructGet, st->fields[i].type, {v}, loc, int64_t(i)),
                    st->fields[i].type, joinPath(path, st->fields[i].name), out, loc);
  } else if (auto *tt = sema::asTuple(t)) {
    for (size_t i = 0; i < tt->elements.size(); ++i)
      if (holdsModelValues(tt->elements[i]))
        modelValues(emit(Op::TupleGet, tt->elements[i], {v}, loc, int64_t(i)), tt->elements[i],
                    joinPath(path, std::to_string(i)), out, loc);
  }
}

ValueId FunctionLowerer::withModelValues(ValueId v, const Type *t, const std::vector<ValueId> &loaded,
                                         size_t &next, SourceLoc loc) {
  if (t->kind == TypeKind::Tensor)
    return loaded[next++];
  if (t->isFloatingPoint())
    return tensorOp(TensorOp::Item, t, {loaded[next++]}, loc);
  auto *st = sema::asStruct(t);
  auto *tt = sema::asTuple(t);
  if (!st && !tt)
    return v;
  size_t n = st ? st->fields.size() : tt->elements.size();
  // Every part is read before any is replaced (as in moveBy).
  std::vector<ValueId> parts;
  for (size_t i = 0; i < n; ++i) {
    const Type *pt = st ? st->fields[i].type : tt->elements[i];
    parts.push_back(emit(st ? Op::StructGet : Op::TupleGet, pt, {v}, loc, int64_t(i)));
  }
  for (size_t i = 0; i < n; ++i) {
    const Type *pt = st ? st->fields[i].type : tt->elements[i];
    if (holdsModelValues(pt))
      parts[i] = withModelValues(parts[i], pt, loaded, next, loc);
  }
  return emit(st ? Op::StructMake : Op::Tuple, t, parts, loc);
}

ValueId FunctionLowerer::lowerModelFile(const CallExpr *c) {
  SourceLoc loc = c->loc;
  bool isLoad = Builtin(c->builtin) == Builtin::LoadModel;
  const Expr *model = c->args[0].value;
  LValue place;
  ValueId value;
  if (isLoad) {
    place = lvalueOf(cast<InOutExpr>(model)->operand);
    value = readLValue(place);
  } else {
    value = lowerExpr(model);
  }
  ValueId path = lowerExpr(c->args[1].value);
  std::vector<std::pair<std::string, ValueId>> pairs;
  modelValues(value, f.typeOf(value), "", pairs, loc);
  std::vector<ValueId> operands{path};
  std::vector<const Type *> tensorTypes;
  for (auto &[name, tensor] : pairs) {
    operands.push_back(emit(Op::ConstString, types().stringType(), {}, loc));
    lastInstr().str = name;
    operands.push_back(tensor);
    tensorTypes.push_back(f.typeOf(tensor));
  }
  if (!isLoad) {
    tensorOp(TensorOp::SaveModel, types().unitType(), operands, loc);
    return unitValue();
  }
  ValueId all = tensorOp(TensorOp::LoadModel, types().tupleType(tensorTypes), operands, loc);
  std::vector<ValueId> loaded;
  for (size_t i = 0; i < tensorTypes.size(); ++i)
    loaded.push_back(emit(Op::TupleGet, tensorTypes[i], {all}, loc, int64_t(i)));
  size_t next = 0;
  writeLValue(place, withModelValues(value, f.typeOf(value), loaded, next, loc));
  return unitValue();
}

ValueId FunctionLowerer::lowerTensorCall(const CallExpr *c) {
  auto b = Builtin(c->builtin);
  SourceLoc loc = c->loc;
  const Type *t = c->type;
  if (b == Builtin::SaveModel || b == Builtin::LoadModel)
    return lowerModelFile(c);
  if (b == Builtin::Concat || b == Builtin::Stack) {
    // concat([a, b, ...], axis:): each tensor of the literal is an operand,
    // so no array holds them. stack: concat of each with a new axis.
    const Expr *list = c->args[0].value;
    while (auto *p = dynCast<ParenExpr>(list))
      list = p->inner;
    if (!dynCast<ArrayLitExpr>(list)) {
      // An array value: joined by the runtime (tensor.join).
      ValueId array = lowerExpr(c->args[0].value);
      ValueId axis = c->args.size() > 1 ? lowerExpr(c->args[1].value) : constInt(0);
      return tensorOp(TensorOp::Join, t, {array, axis, constBool(b == Builtin::Stack)}, loc);
    }
    std::vector<ValueId> parts;
    for (const Expr *e : cast<ArrayLitExpr>(list)->elements)
      parts.push_back(lowerExpr(e));
    ValueId axis = c->args.size() > 1 ? lowerExpr(c->args[1].value) : constInt(0);
    if (b == Builtin::Stack)
      for (ValueId &p : parts)
        p = tensorOp(TensorOp::Unsqueeze, t, {p, axis}, loc);
    parts.push_back(axis);
    return tensorOp(TensorOp::Concat, t, parts, loc);
  }
  std::vector<ValueId> args;
  if (c->receiver)
    args.push_back(lowerExpr(c->receiver));
  for (const Argument &a : c->args)
    args.push_back(lowerExpr(a.value));
  const Type *doubleTy = types().doubleType();
  auto toDouble = [&](ValueId v) {
    return f.typeOf(v) == doubleTy ? v : emit(Op::Convert, doubleTy, {v}, loc);
  };
  // Reductions: (x) -> E, (x, axis) / (x, axis, keepDims) -> tensor.
  auto reduce = [&](TensorOp all, TensorOp axis) {
    if (args.size() == 1)
      return tensorOp(all, t, {args[0]}, loc);
    ValueId keep = args.size() > 2 ? args[2] : constBool(false);
    return tensorOp(axis, t, {args[0], args[1], keep}, loc);
  };
  if (TensorOp u = unaryOf(b); u != TensorOp::Zero && args.size() == 1)
    return tensorOp(u, t, {args[0]}, loc);
  switch (b) {
  case Builtin::Pow:
  case Builtin::Min:
  case Builtin::Max: {
    if (b != Builtin::Pow && (args.size() == 1 || c->args[1].label == "axis"))
      return b == Builtin::Min ? reduce(TensorOp::MinAll, TensorOp::MinAxis)
                               : reduce(TensorOp::MaxAll, TensorOp::MaxAxis);
    TensorOp op = b == Builtin::Pow ? TensorOp::Pow : b == Builtin::Min ? TensorOp::Min : TensorOp::Max;
    return tensorOp(op, t, {toTensor(args[0], t, loc), toTensor(args[1], t, loc)}, loc);
  }
  case Builtin::TensorInit:
    if (f.typeOf(args[0])->kind == TypeKind::Array)
      return tensorOp(TensorOp::FromArray, t, {args[0]}, loc);
    return tensorOp(TensorOp::Scalar, t, {args[0]}, loc);
  case Builtin::Zeros:
  case Builtin::Ones:
    return tensorOp(TensorOp::Full, t,
                    {args[0], lowerLiteralFloat(b == Builtin::Ones ? 1.0 : 0.0, doubleTy, loc)}, loc);
  case Builtin::Full:
    return tensorOp(TensorOp::Full, t, {args[0], toDouble(args[1])}, loc);
  case Builtin::Arange:
    return tensorOp(TensorOp::Arange, t, {args[0]}, loc);
  case Builtin::Randn:
    return tensorOp(TensorOp::Randn, t, {args[0]}, loc);
  case Builtin::Rand:
    return tensorOp(TensorOp::Rand, t, {args[0]}, loc);
  case Builtin::GlorotUniform:
    return tensorOp(TensorOp::Glorot, t, {args[0]}, loc);
  case Builtin::Seed:
    emit(Op::Seed, nullptr, {args[0]}, loc);
    return unitValue();
  case Builtin::Sum:
    return reduce(TensorOp::SumAll, TensorOp::SumAxis);
  case Builtin::Mean:
    return reduce(TensorOp::MeanAll, TensorOp::MeanAxis);
  case Builtin::LogSumExp:
    return reduce(TensorOp::LogSumExpAll, TensorOp::LogSumExpAxis);
  case Builtin::Argmax:
    return reduce(TensorOp::ArgmaxAll, TensorOp::ArgmaxAxis);
  case Builtin::Matmul: {
    TensorOp op = TensorOp::MatMul;
    for (size_t i = 2; i < c->args.size(); ++i)
      if (auto *lit = dynCast<BoolLitExpr>(c->args[i].value); lit && lit->value)
        op = c->args[i].label == "transposeA" ? TensorOp::MatMulTN : TensorOp::MatMulNT;
    return tensorOp(op, t, {args[0], args[1]}, loc);
  }
  case Builtin::Broadcast:
    if (args.size() > 2)
      return tensorOp(TensorOp::ExpandAxis, t, {args[0], args[1], args[2]}, loc);
    return tensorOp(TensorOp::BroadcastTo, t, {args[0], args[1]}, loc);
  case Builtin::Unbroadcast:
    return tensorOp(TensorOp::SumTo, t, {args[0], args[1]}, loc);
  case Builtin::Transpose:
    return tensorOp(TensorOp::Transpose, t, {args[0]}, loc);
  case Builtin::TensorTransposed:
    if (args.size() == 1)
      return tensorOp(TensorOp::Transpose, t, {args[0]}, loc);
    return tensorOp(TensorOp::Permute, t, {args[0], args[1]}, loc);
  case Builtin::Reshape:
    if (c->args[1].label == "like")
      return tensorOp(TensorOp::ReshapeLike, t, {args[0], args[1]}, loc);
    return tensorOp(TensorOp::Reshape, t, {args[0], args[1]}, loc);
  case Builtin::Where:
    return tensorOp(TensorOp::Where, t, {args[0], toTensor(args[1], t, loc), toTensor(args[2], t, loc)},
                    loc);
  case Builtin::Softmax:
  case Builtin::LogSoftmax: {
    // x - logSumExp(x, axis, keepDims: true), exponentiated for softmax.
    ValueId axis = args.size() > 1 ? args[1] : constInt(-1);
    ValueId lse = tensorOp(TensorOp::LogSumExpAxis, t, {args[0], axis, constBool(true)}, loc);
    ValueId shifted = tensorOp(TensorOp::Sub, t, {args[0], lse}, loc);
    return b == Builtin::LogSoftmax ? shifted : tensorOp(TensorOp::Exp, t, {shifted}, loc);
  }
  case Builtin::Clip:
    return tensorOp(TensorOp::Min, t,
                    {tensorOp(TensorOp::Max, t, {args[0], toTensor(args[1], t, loc)}, loc),
                     toTensor(args[2], t, loc)},
                    loc);
  case Builtin::LeakyRelu: {
    // where(x > 0, x, alpha * x); alpha defaults to 0.01 (PyTorch's).
    const Type *e = sema::asTensor(t)->element;
    ValueId alpha = args.size() > 1 ? args[1] : lowerLiteralFloat(0.01, e, loc);
    ValueId pos = tensorOp(TensorOp::Gt, types().tensorType(types().boolType()),
                           {args[0], toTensor(lowerLiteralFloat(0.0, e, loc), t, loc)}, loc);
    return tensorOp(TensorOp::Where, t,
                    {pos, args[0], tensorOp(TensorOp::Mul, t, {args[0], toTensor(alpha, t, loc)}, loc)},
                    loc);
  }
  case Builtin::Elu: {
    // where(x > 0, x, exp(min(x, 0)) - 1): the min keeps the branch not taken
    // finite, so its zero adjoint stays zero.
    const Type *e = sema::asTensor(t)->element;
    ValueId zero = toTensor(lowerLiteralFloat(0.0, e, loc), t, loc);
    ValueId one = toTensor(lowerLiteralFloat(1.0, e, loc), t, loc);
    ValueId pos = tensorOp(TensorOp::Gt, types().tensorType(types().boolType()), {args[0], zero}, loc);
    ValueId neg = tensorOp(TensorOp::Sub, t,
                           {tensorOp(TensorOp::Exp, t, {tensorOp(TensorOp::Min, t, {args[0], zero}, loc)}, loc),
                            one},
                           loc);
    return tensorOp(TensorOp::Where, t, {pos, args[0], neg}, loc);
  }
  case Builtin::Softplus: {
    // max(x, 0) + log1p(exp(-|x|)), which neither overflows nor loses small values.
    const Type *e = sema::asTensor(t)->element;
    ValueId zero = toTensor(lowerLiteralFloat(0.0, e, loc), t, loc);
    ValueId tail = tensorOp(
        TensorOp::Log1p, t,
        {tensorOp(TensorOp::Exp, t,
                  {tensorOp(TensorOp::Neg, t, {tensorOp(TensorOp::Abs, t, {args[0]}, loc)}, loc)}, loc)},
        loc);
    return tensorOp(TensorOp::Add, t, {tensorOp(TensorOp::Max, t, {args[0], zero}, loc), tail}, loc);
  }
  case Builtin::Gelu: {
    // The tanh approximation: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))),
    // PyTorch's gelu(x, approximate: "tanh").
    const Type *e = sema::asTensor(t)->element;
    auto c = [&](double v) { return toTensor(lowerLiteralFloat(v, e, loc), t, loc); };
    ValueId x = args[0];
    ValueId x3 = tensorOp(TensorOp::Mul, t, {tensorOp(TensorOp::Mul, t, {x, x}, loc), x}, loc);
    ValueId inner = tensorOp(
        TensorOp::Mul, t,
        {c(0.7978845608028654), tensorOp(TensorOp::Add, t, {x, tensorOp(TensorOp::Mul, t, {x3, c(0.044715)}, loc)}, loc)},
        loc);
    ValueId th = tensorOp(TensorOp::Tanh, t, {inner}, loc);
    return tensorOp(TensorOp::Mul, t,
                    {tensorOp(TensorOp::Mul, t, {x, c(0.5)}, loc), tensorOp(TensorOp::Add, t, {th, c(1.0)}, loc)},
                    loc);
  }
  case Builtin::Variance: {
    // The population variance (NumPy's default, ddof = 0): mean((x - mean(x))^2).
    const Type *tensorTy = f.typeOf(args[0]);
    if (args.size() == 1) {
      ValueId m = tensorOp(TensorOp::Scalar, tensorTy, {tensorOp(TensorOp::MeanAll, t, {args[0]}, loc)}, loc);
      ValueId d = tensorOp(TensorOp::Sub, tensorTy, {args[0], m}, loc);
      return tensorOp(TensorOp::MeanAll, t, {tensorOp(TensorOp::Mul, tensorTy, {d, d}, loc)}, loc);
    }
    ValueId keep = args.size() > 2 ? args[2] : constBool(false);
    ValueId m = tensorOp(TensorOp::MeanAxis, tensorTy, {args[0], args[1], constBool(true)}, loc);
    ValueId d = tensorOp(TensorOp::Sub, tensorTy, {args[0], m}, loc);
    return tensorOp(TensorOp::MeanAxis, t, {tensorOp(TensorOp::Mul, tensorTy, {d, d}, loc), args[1], keep}, loc);
  }
  case Builtin::Flatten:
    return tensorOp(TensorOp::Flatten, t, {args[0], args.size() > 1 ? args[1] : constInt(1)}, loc);
  case Builtin::Squeeze:
    return tensorOp(TensorOp::Squeeze, t,
                    {args[0], args.size() > 1 ? args[1] : constInt(0), constBool(args.size() == 1)}, loc);
  case Builtin::Unsqueeze:
    return tensorOp(TensorOp::Unsqueeze, t, {args[0], args[1]}, loc);
  case Builtin::Slice:
    return tensorOp(TensorOp::Narrow, t,
                    {args[0], args.size() > 3 ? args[3] : constInt(0), args[1], args[2]}, loc);
  case Builtin::Gather:
    return tensorOp(TensorOp::Gather, t, {args[0], args[1], args.size() > 2 ? args[2] : constInt(0)},
                    loc);
  case Builtin::Embedding:
    return tensorOp(TensorOp::Gather, t, {args[0], args[1], constInt(0)}, loc);
  case Builtin::OneHot:
    return tensorOp(TensorOp::OneHot, t, {args[0], args[1]}, loc);
  case Builtin::LoadIdx:
    return tensorOp(TensorOp::LoadIdx, t, {args[0]}, loc);
  case Builtin::LoadNpy:
    return tensorOp(TensorOp::LoadNpy, t, {args[0]}, loc);
  case Builtin::LoadCsv:
    return tensorOp(TensorOp::LoadCsv, t, {args[0]}, loc);
  case Builtin::SaveNpy:
    tensorOp(TensorOp::SaveNpy, types().unitType(), {args[0], args[1]}, loc);
    return unitValue();
  case Builtin::Dropout: {
    // x * mask, the mask 0 or 1 / (1 - rate) (all ones when not training):
    // the derivative follows from the product.
    ValueId mask = tensorOp(TensorOp::DropoutMask, t, {args[0], toDouble(args[1]), args[2]}, loc);
    return tensorOp(TensorOp::Mul, t, {args[0], mask}, loc);
  }
  case Builtin::Conv2d: {
    ValueId stride = constInt(1), padding = constInt(0);
    for (size_t i = 2; i < c->args.size(); ++i)
      (c->args[i].label == "stride" ? stride : padding) = args[i];
    return tensorOp(TensorOp::Conv2d, t, {args[0], args[1], stride, padding}, loc);
  }
  case Builtin::MaxPool2d:
  case Builtin::AvgPool2d: {
    // The stride defaults to the window's size (PyTorch's).
    ValueId size = args[1], stride = args[1], padding = constInt(0);
    for (size_t i = 2; i < c->args.size(); ++i)
      (c->args[i].label == "stride" ? stride : padding) = args[i];
    return tensorOp(b == Builtin::MaxPool2d ? TensorOp::MaxPool2d : TensorOp::AvgPool2d, t,
                    {args[0], size, stride, padding}, loc);
  }
  case Builtin::BatchNorm:
  case Builtin::LayerNorm: {
    // (x - mean) / sqrt(variance + epsilon), then * gamma + beta. layerNorm
    // normalizes over the last axis; batchNorm over every axis but the last
    // (the batch statistics: rows(x) is [everything else, channels]).
    const Type *e = sema::asTensor(t)->element;
    ValueId x = args[0];
    ValueId eps = lowerLiteralFloat(1e-5, e, loc);
    std::vector<ValueId> affine;
    for (size_t i = 1; i < c->args.size(); ++i) {
      if (c->args[i].label == "epsilon")
        eps = args[i];
      else
        affine.push_back(toTensor(args[i], t, loc));
    }
    auto mean = [&](ValueId v) {
      if (b == Builtin::LayerNorm)
        return tensorOp(TensorOp::MeanAxis, t, {v, constInt(-1), constBool(true)}, loc);
      return tensorOp(TensorOp::MeanAxis, t, {tensorOp(TensorOp::Rows, t, {v}, loc), constInt(0), constBool(true)},
                      loc);
    };
    ValueId centered = tensorOp(TensorOp::Sub, t, {x, mean(x)}, loc);
    ValueId var = mean(tensorOp(TensorOp::Mul, t, {centered, centered}, loc));
    ValueId scale = tensorOp(TensorOp::Rsqrt, t, {tensorOp(TensorOp::Add, t, {var, toTensor(eps, t, loc)}, loc)}, loc);
    ValueId y = tensorOp(TensorOp::Mul, t, {centered, scale}, loc);
    if (affine.size() == 2)
      y = tensorOp(TensorOp::Add, t, {tensorOp(TensorOp::Mul, t, {y, affine[0]}, loc), affine[1]}, loc);
    return y;
  }
  case Builtin::TensorItem:
    return tensorOp(TensorOp::Item, t, {args[0]}, loc);
  case Builtin::TensorToFloat:
    if (f.typeOf(args[0]) == t)
      return args[0];
    return tensorOp(TensorOp::Convert, t, {args[0]}, loc);
  default:
    DLC_UNREACHABLE("a tensor builtin sema does not accept");
  }
}

ValueId FunctionLowerer::lowerTensorBinary(const BinaryExpr *b) {
  ValueId l = lowerExpr(b->lhs);
  ValueId r = lowerExpr(b->rhs);
  // The operands' tensor type (the result may be Tensor<Bool>).
  const Type *t = f.typeOf(l)->kind == TypeKind::Tensor ? f.typeOf(l) : f.typeOf(r);
  l = toTensor(l, t, b->opLoc);
  r = toTensor(r, t, b->opLoc);
  TensorOp op = TensorOp::Add;
  switch (b->op) {
  case BinaryOp::Add: op = TensorOp::Add; break;
  case BinaryOp::Sub: op = TensorOp::Sub; break;
  case BinaryOp::Mul: op = TensorOp::Mul; break;
  case BinaryOp::Div: op = TensorOp::Div; break;
  case BinaryOp::MatMul: op = TensorOp::MatMul; break;
  case BinaryOp::Eq: op = TensorOp::Eq; break;
  case BinaryOp::Ne: op = TensorOp::Ne; break;
  case BinaryOp::Lt: op = TensorOp::Lt; break;
  case BinaryOp::Le: op = TensorOp::Le; break;
  case BinaryOp::Gt: op = TensorOp::Gt; break;
  case BinaryOp::Ge: op = TensorOp::Ge; break;
  case BinaryOp::And: op = TensorOp::And; break;
  case BinaryOp::Or: op = TensorOp::Or; break;
  default:
    DLC_UNREACHABLE("a tensor operator sema does not accept");
  }
  return tensorOp(op, b->type, {l, r}, b->opLoc);
}

ValueId FunctionLowerer::lowerTensorIndex(const IndexExpr *ix, const sema::TensorType *tt) {
  ValueId base = lowerExpr(ix->base);
  auto *range = dynCast<BinaryExpr>(ix->indices.front());
  if (range && (range->op == BinaryOp::HalfOpenRange || range->op == BinaryOp::ClosedRange)) {
    ValueId lo = lowerExpr(range->lhs);
    ValueId hi = lowerExpr(range->rhs);
    if (range->op == BinaryOp::ClosedRange)
      hi = emit(Op::Add, types().intType(), {hi, constInt(1)}, range->loc);
    return tensorOp(TensorOp::Slice, tt, {base, lo, hi}, ix->loc);
  }
  std::vector<ValueId> ops{base};
  for (const Expr *i : ix->indices)
    ops.push_back(lowerExpr(i));
  ValueId sub = tensorOp(TensorOp::Index, tt, ops, ix->loc);
  if (ix->type == tt)
    return sub;
  return tensorOp(TensorOp::Item, ix->type, {sub}, ix->loc); // the element was expected
}

ValueId FunctionLowerer::lowerTensorProperty(const MemberExpr *m) {
  ValueId base = lowerExpr(m->base);
  TensorOp op = m->builtin == int(Builtin::TensorShape)  ? TensorOp::Shape
                : m->builtin == int(Builtin::TensorRank) ? TensorOp::Rank
                                                         : TensorOp::Count;
  return tensorOp(op, m->type, {base}, m->memberLoc);
}

} // namespace dlc::ir::lowering
