// Type rules of the tensor operations (LANGUAGE.md §6): creation, the math
// builtins applied elementwise, reductions, linear algebra and shape
// operations, tensor members, and arithmetic with NumPy broadcasting in which
// a scalar of the element type broadcasts on either side. Shapes are not
// known at compile time (§10 is later): shape errors are runtime errors.
#include "sema/SemaImpl.h"

#include <algorithm>

namespace dlc::sema {

namespace {

/// The nesting depth of an array literal: `[[1, 2]]` is 2, `[]` is 1.
int arrayLitDepth(const Expr *e) {
  if (auto *p = dynCast<ParenExpr>(e))
    return arrayLitDepth(p->inner);
  auto *a = dynCast<ArrayLitExpr>(e);
  if (!a)
    return 0;
  return 1 + (a->elements.empty() ? 0 : arrayLitDepth(a->elements.front()));
}

/// One parameter of a tensor builtin: `label` must be written when
/// `labeled`, may be written otherwise; optional ones may be left off the
/// end, and `skippable` ones (labeled) before a later argument too.
struct Param {
  const char *label;
  bool labeled;
  bool optional;
  bool skippable = false;
};

/// Whether save/load would find Tensor, Float or Double values in `t`.
bool holdsModelValues(const Type *t) {
  if (t->kind == TypeKind::Tensor || t->isFloatingPoint())
    return true;
  if (auto *st = asStruct(t))
    return std::any_of(st->fields.begin(), st->fields.end(),
                       [](const StructType::Field &f) { return holdsModelValues(f.type); });
  if (auto *tt = asTuple(t))
    return std::any_of(tt->elements.begin(), tt->elements.end(), holdsModelValues);
  if (auto *at = asArray(t))
    return holdsModelValues(at->element);
  return false;
}

/// The field path of the first array in `t` that holds model values (which
/// save and load cannot walk yet), or "".
std::string arrayFieldPath(const Type *t, const std::string &path) {
  if (asArray(t))
    return holdsModelValues(t) ? path : "";
  auto join = [&](const std::string &name) { return path.empty() ? name : path + "." + name; };
  if (auto *st = asStruct(t))
    for (const StructType::Field &f : st->fields)
      if (std::string p = arrayFieldPath(f.type, join(f.name)); !p.empty())
        return p;
  if (auto *tt = asTuple(t))
    for (size_t i = 0; i < tt->elements.size(); ++i)
      if (std::string p = arrayFieldPath(tt->elements[i], join(std::to_string(i))); !p.empty())
        return p;
  return "";
}

/// The runtime's DLRT_MAX_RANK: a nested array literal deeper than this
/// cannot become a tensor.
constexpr int kMaxRank = 8;

} // namespace

bool Sema::isTensorCall(CallExpr *call, Builtin b) {
  if (isTensorBuiltin(b))
    return true;
  if (!isMath1(b) && !isMath2(b))
    return false;
  // A math builtin is a tensor operation when an argument is a tensor. The
  // non-literal arguments are checked here to find out; the scalar path
  // reuses their types instead of checking them again.
  for (Argument &a : call->args)
    if (!isLiteralLike(a.value)) {
      const Type *t = a.value->type ? a.value->type : checkExpr(a.value, nullptr);
      if (t->kind == TypeKind::Tensor)
        return true;
    }
  return false;
}

const Type *Sema::checkTensorCall(CallExpr *call, Builtin b, const Type *expected,
                                  const NameExpr *callee) {
  call->callKind = CallExpr::Kind::Builtin;
  call->builtin = int(b);
  const std::string name = builtinName(b);
  std::vector<Argument> &args = call->args;
  const Type *intTy = types.intType();
  const Type *shapeTy = types.arrayType(intTy);
  auto checkRest = [&](size_t from) {
    for (size_t i = from; i < args.size(); ++i)
      if (!args[i].value->type)
        checkExpr(args[i].value, nullptr);
  };
  // Matches arguments to parameters in order; reports and returns false on a
  // wrong count or label.
  auto match = [&](std::initializer_list<Param> params) {
    size_t lo = 0;
    for (const Param &p : params)
      lo += p.optional ? 0 : 1;
    if (args.size() < lo || args.size() > params.size()) {
      size_t want = args.size() < lo ? lo : params.size();
      diags.report(DiagId::err_arg_count, call->loc,
                   {name, std::to_string(want), want == 1 ? "" : "s", std::to_string(args.size()),
                    args.size() == 1 ? "was" : "were"});
      checkRest(0);
      return false;
    }
    // An optional labeled parameter may be left out before a later one
    // (`conv2d(x, w, padding: 1)`); the others are matched in order.
    size_t i = 0;
    for (const Param &p : params) {
      if (i == args.size())
        break;
      const Argument &a = args[i];
      bool ok = a.label.empty() ? !p.labeled : a.label == p.label;
      if (!ok && p.skippable && !a.label.empty())
        continue;
      if (!ok) {
        diags.report(DiagId::err_wrong_label,
                     a.labelLoc.isValid() ? a.labelLoc : a.value->loc,
                     {a.label.empty() ? "_" : a.label, p.labeled ? p.label : "_", name});
        checkRest(0);
        return false;
      }
      ++i;
    }
    if (i < args.size()) {
      const Argument &a = args[i];
      diags.report(DiagId::err_wrong_label, a.labelLoc.isValid() ? a.labelLoc : a.value->loc,
                   {a.label.empty() ? "_" : a.label, "_", name});
      checkRest(0);
      return false;
    }
    return true;
  };
  // The element type of a result with no tensor operand: written
  // (`Tensor<Double>(...)`), else the expected tensor's, else Float.
  auto elementFromContext = [&](bool floatOnly) -> const Type * {
    if (auto *tt = asTensor(expected))
      if (!floatOnly || tt->element->isFloatingPoint())
        return tt->element;
    return types.floatType();
  };
  auto expectShape = [&](Expr *e) { checkExprAs(e, shapeTy); };
  // A tensor operand: reports anything else.
  auto tensorArg = [&](size_t i, bool floatOnly) -> const TensorType * {
    const Type *t = args[i].value->type ? args[i].value->type : checkExpr(args[i].value, nullptr);
    if (t->isError())
      return nullptr;
    auto *tt = asTensor(t);
    if (!tt || (floatOnly && !tt->element->isFloatingPoint())) {
      diags.report(DiagId::err_tensor_arg, args[i].value->loc,
                   {name, floatOnly ? "a Tensor of Float or Double" : "a tensor", t->str()});
      return nullptr;
    }
    return tt;
  };
  // A tensor operand of type `tt`, or a scalar of its element type.
  auto operandOf = [&](size_t i, const TensorType *tt) {
    Expr *e = args[i].value;
    const Type *t = e->type && !isLiteralLike(e) ? e->type : checkExpr(e, tt->element);
    if (t->isError() || t == tt || t == tt->element)
      return;
    diags.report(DiagId::err_tensor_arg, e->loc,
                 {name, "'" + tt->str() + "' or '" + tt->element->str() + "'", t->str()});
  };

  // sum(x) -> E; sum(x, axis: a) / sum(x, axis: a, keepDims: k) -> tensor.
  auto reduction = [&]() -> const Type * {
    if (!match({{"x", false, false}, {"axis", true, true}, {"keepDims", true, true}}))
      return types.errorType();
    bool floatOnly = b == Builtin::Mean || b == Builtin::LogSumExp || b == Builtin::Variance;
    const TensorType *tt = tensorArg(0, floatOnly);
    if (args.size() > 1)
      checkExprAs(args[1].value, intTy);
    if (args.size() > 2)
      checkExprAs(args[2].value, types.boolType());
    if (!tt)
      return types.errorType();
    if (!floatOnly && tt->element->kind == TypeKind::Bool) {
      diags.report(DiagId::err_tensor_arg, args[0].value->loc, {name, "a numeric tensor", tt->str()});
      return types.errorType();
    }
    if (b == Builtin::Argmax)
      return args.size() > 1 ? static_cast<const Type *>(types.tensorType(intTy)) : intTy;
    return args.size() > 1 ? static_cast<const Type *>(tt) : tt->element;
  };

  if (isMath1(b) || b == Builtin::Rsqrt || b == Builtin::Step) {
    if (!match({{"x", false, false}}))
      return types.errorType();
    if (b == Builtin::Tan) {
      diags.report(DiagId::err_not_supported, call->loc, {"'tan' on tensors"});
      checkRest(0);
      return types.errorType();
    }
    bool intOk = b == Builtin::Abs || b == Builtin::Sign;
    const TensorType *tt = tensorArg(0, !intOk);
    if (tt && intOk && tt->element->kind == TypeKind::Bool) {
      diags.report(DiagId::err_tensor_arg, args[0].value->loc,
                   {name, "a numeric tensor", tt->str()});
      return types.errorType();
    }
    return tt ? tt : types.errorType();
  }
  if (isMath2(b)) {
    // min/max of one tensor are reductions; of two operands, elementwise.
    if ((b == Builtin::Min || b == Builtin::Max) &&
        (args.size() == 1 || (args.size() >= 2 && args[1].label == "axis")))
      return reduction();
    if (!match({{"x", false, false}, {"y", false, false}}))
      return types.errorType();
    const TensorType *tt = nullptr;
    for (size_t i = 0; i < 2 && !tt; ++i)
      if (!isLiteralLike(args[i].value))
        tt = asTensor(args[i].value->type ? args[i].value->type : checkExpr(args[i].value, nullptr));
    if (!tt)
      return types.errorType();
    if (b == Builtin::Pow ? !tt->element->isFloatingPoint() : tt->element->kind == TypeKind::Bool) {
      diags.report(DiagId::err_tensor_arg, call->loc, {name, "numeric tensors", tt->str()});
      return types.errorType();
    }
    operandOf(0, tt);
    operandOf(1, tt);
    return tt;
  }

  switch (b) {
  case Builtin::TensorInit: {
    const Type *elem = nullptr;
    if (callee && !callee->genericArgs.empty()) {
      if (callee->genericArgs.size() != 1) {
        diags.report(DiagId::err_not_supported, callee->loc, {"'Tensor' with several generic arguments"});
        checkRest(0);
        return types.errorType();
      }
      elem = resolveType(callee->genericArgs.front(), nullptr);
      if (elem->isError()) {
        checkRest(0);
        return elem;
      }
      if (!elem->isScalar()) {
        diags.report(DiagId::err_tensor_element, callee->genericArgs.front()->loc, {elem->str()});
        checkRest(0);
        return types.errorType();
      }
    }
    if (!match({{"x", false, false}}))
      return types.errorType();
    Expr *e = args[0].value;
    if (int depth = arrayLitDepth(e); depth > 0 || isLiteralLike(e)) {
      // A literal takes its element type from the written or expected one.
      if (!elem)
        elem = elementFromContext(false);
      const Type *want = elem;
      for (int i = 0; i < depth; ++i)
        want = types.arrayType(want);
      if (depth > kMaxRank) {
        diags.report(DiagId::err_tensor_arg, e->loc,
                     {name, "at most 8 levels of nesting", want->str()});
        return types.errorType();
      }
      checkExprAs(e, want);
      return types.tensorType(elem);
    }
    const Type *t = checkExpr(e, nullptr);
    if (t->isError())
      return t;
    const Type *leaf = t;
    int depth = 0;
    while (auto *at = asArray(leaf)) {
      leaf = at->element;
      ++depth;
    }
    if (!leaf->isScalar() || depth > kMaxRank || (elem && leaf != elem)) {
      diags.report(DiagId::err_tensor_arg, e->loc,
                   {name, elem ? "a value or nested array of '" + elem->str() + "'"
                               : "a scalar or a nested array of scalars",
                    t->str()});
      return types.errorType();
    }
    return types.tensorType(leaf);
  }
  case Builtin::Zeros:
  case Builtin::Ones:
  case Builtin::Randn:
  case Builtin::Rand:
  case Builtin::GlorotUniform: {
    if (!match({{"shape", false, false}}))
      return types.errorType();
    expectShape(args[0].value);
    bool random = b == Builtin::Randn || b == Builtin::Rand || b == Builtin::GlorotUniform;
    return types.tensorType(elementFromContext(random));
  }
  case Builtin::Full: {
    if (!match({{"shape", false, false}, {"value", false, false}}))
      return types.errorType();
    expectShape(args[0].value);
    const Type *elem = nullptr;
    if (auto *tt = asTensor(expected))
      elem = tt->element;
    Expr *v = args[1].value;
    if (!elem && !isLiteralLike(v))
      elem = checkExpr(v, nullptr);
    if (!elem)
      elem = types.floatType();
    if (!v->type || isLiteralLike(v))
      checkExprAs(v, elem);
    if (elem->isError())
      return elem;
    if (!elem->isNumeric() || v->type != elem) {
      if (!v->type->isError())
        diags.report(DiagId::err_tensor_arg, v->loc, {name, "a numeric value", v->type->str()});
      return types.errorType();
    }
    return types.tensorType(elem);
  }
  case Builtin::Arange: {
    if (!match({{"n", false, false}}))
      return types.errorType();
    checkExprAs(args[0].value, intTy);
    const Type *elem = asTensor(expected) && asTensor(expected)->element->isNumeric()
                           ? asTensor(expected)->element
                           : types.floatType();
    return types.tensorType(elem);
  }
  case Builtin::Seed:
    if (!match({{"n", false, false}}))
      return types.unitType();
    checkExprAs(args[0].value, intTy);
    return types.unitType();
  case Builtin::Matmul: {
    // matmul(a, b, transposeA: true) / (…, transposeB: true): the transpose
    // of the last two axes of one operand, without making it. The flags are
    // literals: they choose the operation.
    if (!match({{"a", false, false}, {"b", false, false}, {"transposeA", true, true, true},
                {"transposeB", true, true}}))
      return types.errorType();
    unsigned flags = 0;
    for (size_t i = 2; i < args.size(); ++i) {
      auto *lit = dynCast<BoolLitExpr>(args[i].value);
      checkExprAs(args[i].value, types.boolType());
      if (!lit) {
        diags.report(DiagId::err_literal_flag, args[i].value->loc, {name, args[i].label});
        return types.errorType();
      }
      flags += lit->value ? 1 : 0;
    }
    if (flags > 1) {
      diags.report(DiagId::err_not_supported, call->loc, {"'matmul' with both operands transposed"});
      return types.errorType();
    }
    const TensorType *a = tensorArg(0, true), *c = tensorArg(1, true);
    if (!a || !c)
      return types.errorType();
    if (a != c) {
      diags.report(DiagId::err_binary_operands, call->loc, {"@", a->str(), c->str()});
      return types.errorType();
    }
    return a;
  }
  case Builtin::Broadcast:
  case Builtin::Unbroadcast: {
    bool axis = b == Builtin::Broadcast;
    bool ok = axis ? match({{"x", false, false}, {"like", true, false}, {"axis", true, true}})
                   : match({{"x", false, false}, {"like", true, false}});
    if (!ok)
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    const TensorType *like = tensorArg(1, true);
    if (args.size() > 2)
      checkExprAs(args[2].value, intTy);
    if (!tt || !like)
      return types.errorType();
    if (tt != like) {
      diags.report(DiagId::err_tensor_arg, args[1].value->loc, {name, "'" + tt->str() + "'", like->str()});
      return types.errorType();
    }
    return tt;
  }
  case Builtin::Transpose: {
    if (!match({{"x", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    return tt ? tt : types.errorType();
  }
  case Builtin::Reshape: {
    // reshape(x, [..]) or reshape(x, like: y): to y's shape (same count).
    bool like = args.size() == 2 && args[1].label == "like";
    if (like ? !match({{"x", false, false}, {"like", true, false}})
             : !match({{"x", false, false}, {"shape", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    if (like)
      tensorArg(1, false);
    else
      expectShape(args[1].value);
    return tt ? tt : types.errorType();
  }
  case Builtin::Where: {
    if (!match({{"condition", false, false}, {"x", false, false}, {"y", false, false}}))
      return types.errorType();
    const Type *c = checkExpr(args[0].value, nullptr);
    if (!c->isError() && c != types.tensorType(types.boolType()))
      diags.report(DiagId::err_tensor_arg, args[0].value->loc, {name, "a Tensor<Bool>", c->str()});
    const TensorType *tt = nullptr;
    for (size_t i = 1; i < 3 && !tt; ++i)
      if (!isLiteralLike(args[i].value))
        tt = asTensor(args[i].value->type ? args[i].value->type : checkExpr(args[i].value, nullptr));
    if (!tt)
      tt = asTensor(expected) ? asTensor(expected) : types.tensorType(types.floatType());
    operandOf(1, tt);
    operandOf(2, tt);
    return tt;
  }
  case Builtin::Softmax:
  case Builtin::LogSoftmax: {
    if (!match({{"x", false, false}, {"axis", true, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    if (args.size() > 1)
      checkExprAs(args[1].value, intTy);
    return tt ? tt : types.errorType();
  }
  case Builtin::Elu:
  case Builtin::Gelu:
  case Builtin::Softplus: {
    if (!match({{"x", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    return tt ? tt : types.errorType();
  }
  case Builtin::LeakyRelu: {
    if (!match({{"x", false, false}, {"alpha", false, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    if (!tt)
      return types.errorType();
    if (args.size() > 1)
      checkExprAs(args[1].value, tt->element);
    return tt;
  }
  case Builtin::Clip: {
    if (!match({{"x", false, false}, {"min", false, false}, {"max", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    if (!tt)
      return types.errorType();
    operandOf(1, tt);
    operandOf(2, tt);
    return tt;
  }
  case Builtin::Variance:
  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::LogSumExp:
  case Builtin::Argmax:
    return reduction();
  case Builtin::Flatten: {
    if (!match({{"x", false, false}, {"from", true, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    if (args.size() > 1)
      checkExprAs(args[1].value, intTy);
    return tt ? tt : types.errorType();
  }
  case Builtin::Squeeze:
  case Builtin::Unsqueeze: {
    bool optional = b == Builtin::Squeeze;
    if (!match({{"x", false, false}, {"axis", true, optional}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    if (args.size() > 1)
      checkExprAs(args[1].value, intTy);
    return tt ? tt : types.errorType();
  }
  case Builtin::Concat:
  case Builtin::Stack: {
    if (!match({{"tensors", false, false}, {"axis", true, true}}))
      return types.errorType();
    if (args.size() > 1)
      checkExprAs(args[1].value, intTy);
    // An array literal's tensors each become an operand; any other array of
    // tensors is joined as a value (tensor.join).
    Expr *list = args[0].value;
    while (auto *p = dynCast<ParenExpr>(list))
      list = p->inner;
    auto *lit = dynCast<ArrayLitExpr>(list);
    if (!lit || lit->elements.empty()) {
      const Type *t = checkExpr(args[0].value, nullptr);
      if (t->isError())
        return t;
      auto *at = asArray(t);
      if (auto *et = at ? asTensor(at->element) : nullptr; et && !(lit && lit->elements.empty()))
        return et;
      diags.report(DiagId::err_tensor_arg, args[0].value->loc,
                   {name, "an array of tensors, such as [a, b]", t->str()});
      return types.errorType();
    }
    const TensorType *tt = nullptr;
    for (Expr *e : lit->elements) {
      const Type *t = checkExpr(e, tt ? tt : expected);
      if (t->isError())
        return t;
      auto *et = asTensor(t);
      if (!et || (tt && et != tt)) {
        diags.report(DiagId::err_tensor_arg, e->loc,
                     {name, tt ? "'" + tt->str() + "' like the first tensor" : std::string("a tensor"),
                      t->str()});
        return types.errorType();
      }
      tt = et;
    }
    lit->type = types.arrayType(tt);
    args[0].value->type = lit->type;
    return tt;
  }
  case Builtin::Slice: {
    if (!match({{"x", false, false}, {"from", true, false}, {"to", true, false}, {"axis", true, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    for (size_t i = 1; i < args.size(); ++i)
      checkExprAs(args[i].value, intTy);
    return tt ? tt : types.errorType();
  }
  case Builtin::Gather:
  case Builtin::Embedding: {
    bool isGather = b == Builtin::Gather;
    if (isGather ? !match({{"x", false, false}, {"indices", false, false}, {"axis", true, true}})
                 : !match({{"table", false, false}, {"ids", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, !isGather);
    const TensorType *it = tensorArg(1, false);
    if (args.size() > 2)
      checkExprAs(args[2].value, intTy);
    if (it && it->element->kind != TypeKind::Int) {
      diags.report(DiagId::err_tensor_arg, args[1].value->loc, {name, "a Tensor<Int>", it->str()});
      return types.errorType();
    }
    return tt && it ? tt : types.errorType();
  }
  case Builtin::OneHot: {
    if (!match({{"labels", false, false}, {"n", false, false}}))
      return types.errorType();
    const TensorType *lt = tensorArg(0, false);
    checkExprAs(args[1].value, intTy);
    if (lt && lt->element->kind != TypeKind::Int) {
      diags.report(DiagId::err_tensor_arg, args[0].value->loc, {name, "a Tensor<Int>", lt->str()});
      return types.errorType();
    }
    return lt ? types.tensorType(elementFromContext(false)) : types.errorType();
  }
  case Builtin::LoadIdx: {
    if (!match({{"path", false, false}}))
      return types.errorType();
    checkExprAs(args[0].value, types.stringType());
    return types.tensorType(elementFromContext(false));
  }
  case Builtin::LoadNpy:
  case Builtin::LoadCsv: {
    if (!match({{"path", false, false}}))
      return types.errorType();
    checkExprAs(args[0].value, types.stringType());
    return types.tensorType(elementFromContext(false));
  }
  case Builtin::SaveNpy: {
    if (!match({{"x", false, false}, {"path", false, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, false);
    checkExprAs(args[1].value, types.stringType());
    return tt ? types.unitType() : types.errorType();
  }
  case Builtin::SaveModel:
  case Builtin::LoadModel: {
    // save(model, path) / load(&model, path): a Differentiable struct whose
    // Tensor, Float and Double fields (ir/LowerTensor.cpp walks them) are
    // written or read by field path.
    if (!match({{"model", false, false}, {"path", false, false}}))
      return types.errorType();
    bool isLoad = b == Builtin::LoadModel;
    Expr *m = args[0].value;
    const Type *t;
    if (auto *io = dynCast<InOutExpr>(m)) {
      if (isLoad) {
        t = checkLValue(io->operand, LValueUse::Inout, "");
        io->type = t;
      } else {
        diags.report(DiagId::err_ampersand_not_inout, m->loc);
        checkExpr(io->operand, nullptr);
        t = types.errorType();
      }
    } else {
      t = checkExpr(m, nullptr);
      if (isLoad && !t->isError()) {
        diags.report(DiagId::err_inout_needs_ampersand, m->loc, {t->str()});
        t = types.errorType();
      }
    }
    checkExprAs(args[1].value, types.stringType());
    if (t->isError())
      return types.errorType();
    auto *st = asStruct(t);
    if (!st || !st->differentiable) {
      auto diag = diags.report(DiagId::err_io_not_model, m->loc, {name, t->str()});
      if (st && st->decl)
        diag.note(DiagId::note_io_declare_differentiable, st->decl->nameLoc, {st->name});
      return types.errorType();
    }
    if (std::string path = arrayFieldPath(st, ""); !path.empty()) {
      diags.report(DiagId::err_not_supported, m->loc,
                   {"'" + name + "' of a model with an array of tensors or floats ('" + path + "')"});
      return types.errorType();
    }
    return types.unitType();
  }
  case Builtin::Dropout: {
    if (!match({{"x", false, false}, {"rate", true, false}, {"training", true, false}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    if (!tt) {
      checkRest(1);
      return types.errorType();
    }
    checkExprAs(args[1].value, tt->element);
    checkExprAs(args[2].value, types.boolType());
    return tt;
  }
  case Builtin::Conv2d: {
    if (!match({{"x", false, false}, {"filter", false, false}, {"stride", true, true, true},
                {"padding", true, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true), *ft = tensorArg(1, true);
    for (size_t i = 2; i < args.size(); ++i)
      checkExprAs(args[i].value, intTy);
    if (!tt || !ft)
      return types.errorType();
    if (tt != ft) {
      diags.report(DiagId::err_tensor_arg, args[1].value->loc, {name, "a '" + tt->str() + "' filter", ft->str()});
      return types.errorType();
    }
    return tt;
  }
  case Builtin::MaxPool2d:
  case Builtin::AvgPool2d: {
    if (!match({{"x", false, false}, {"size", true, false}, {"stride", true, true, true},
                {"padding", true, true}}))
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    for (size_t i = 1; i < args.size(); ++i)
      checkExprAs(args[i].value, intTy);
    return tt ? tt : types.errorType();
  }
  case Builtin::BatchNorm:
  case Builtin::LayerNorm: {
    // (x), (x, epsilon:), (x, gamma, beta) or (x, gamma, beta, epsilon:).
    bool affine = args.size() >= 3 || (args.size() == 2 && args[1].label.empty());
    bool ok = affine ? match({{"x", false, false}, {"gamma", false, false}, {"beta", false, false},
                              {"epsilon", true, true}})
                     : match({{"x", false, false}, {"epsilon", true, true}});
    if (!ok)
      return types.errorType();
    const TensorType *tt = tensorArg(0, true);
    if (!tt) {
      checkRest(1);
      return types.errorType();
    }
    for (size_t i = 1; i < args.size(); ++i) {
      if (args[i].label == "epsilon")
        checkExprAs(args[i].value, tt->element);
      else
        operandOf(i, tt);
    }
    return tt;
  }
  default:
    break;
  }
  checkRest(0);
  diags.report(DiagId::err_not_supported, call->loc, {"'" + name + "' on these arguments"});
  return types.errorType();

}

const Type *Sema::checkTensorProperty(MemberExpr *member, const TensorType *base) {
  (void)base;
  member->memberKind = MemberExpr::Kind::Property;
  if (member->member == "shape") {
    member->builtin = int(Builtin::TensorShape);
    return types.arrayType(types.intType());
  }
  if (member->member == "rank" || member->member == "count") {
    member->builtin = int(member->member == "rank" ? Builtin::TensorRank : Builtin::TensorCount);
    return types.intType();
  }
  member->memberKind = MemberExpr::Kind::Unresolved;
  return nullptr;
}

const Type *Sema::checkTensorMember(CallExpr *call, MemberExpr *member, const Type *base) {
  auto *tt = asTensor(base);
  const std::string &m = member->member;
  call->callKind = CallExpr::Kind::Builtin;
  call->receiver = member->base;
  auto noArgs = [&](const char *name) {
    if (!call->args.empty()) {
      diags.report(DiagId::err_arg_count, call->loc,
                   {name, "0", "s", std::to_string(call->args.size()),
                    call->args.size() == 1 ? "was" : "were"});
      for (Argument &a : call->args)
        checkExpr(a.value, nullptr);
      return false;
    }
    return true;
  };
  if (m == "item") {
    call->builtin = int(Builtin::TensorItem);
    return noArgs("item") ? tt->element : types.errorType();
  }
  if (m == "toFloat") {
    call->builtin = int(Builtin::TensorToFloat);
    if (!noArgs("toFloat"))
      return types.errorType();
    return types.tensorType(types.floatType());
  }
  if (m == "transposed") {
    call->builtin = int(Builtin::TensorTransposed);
    if (call->args.size() > 1) {
      diags.report(DiagId::err_arg_count, call->loc,
                   {"transposed", "1", "", std::to_string(call->args.size()), "were"});
      for (Argument &a : call->args)
        checkExpr(a.value, nullptr);
      return types.errorType();
    }
    if (call->args.size() == 1)
      checkExprAs(call->args[0].value, types.arrayType(types.intType()));
    return tt;
  }
  return nullptr;
}

const Type *Sema::checkTensorIndex(IndexExpr *index, const TensorType *base,
                                   const Type *expected) {
  // t[i, j, ...] with Int indices; t[lo..<hi] / t[lo...hi] along the first
  // axis. Ranks are not known at compile time (§10 is later), so indexing
  // gives a tensor, or the element where the element type is expected
  // (`let v: Float = t[0, 1]`): then every axis must be indexed at run time.
  auto *range = dynCast<BinaryExpr>(index->indices.front());
  if (range && (range->op == BinaryOp::HalfOpenRange || range->op == BinaryOp::ClosedRange)) {
    if (index->indices.size() != 1) {
      diags.report(DiagId::err_not_supported, index->indices[1]->loc,
                   {"indexing after a range (slice the first axis alone)"});
      return types.errorType();
    }
    checkExprAs(range->lhs, types.intType());
    checkExprAs(range->rhs, types.intType());
    range->type = types.intType();
    return base;
  }
  for (Expr *i : index->indices) {
    if (auto *b = dynCast<BinaryExpr>(i);
        b && (b->op == BinaryOp::HalfOpenRange || b->op == BinaryOp::ClosedRange)) {
      diags.report(DiagId::err_not_supported, i->loc, {"a range after an index (slice the first axis alone)"});
      return types.errorType();
    }
    const Type *it = checkExpr(i, types.intType());
    if (!it->isError() && it->kind != TypeKind::Int)
      diags.report(DiagId::err_index_not_int, i->loc, {it->str()});
  }
  if (index->indices.size() > 8) {
    diags.report(DiagId::err_tensor_arg, index->loc, {"indexing", "at most 8 indices", base->str()});
    return types.errorType();
  }
  return expected == base->element ? base->element : static_cast<const Type *>(base);
}

const Type *Sema::checkTensorBinary(BinaryExpr *binary, const Type *l, const Type *r) {
  const char *spelling = binaryOpSpelling(binary->op);
  auto *lt = asTensor(l), *rt = asTensor(r);
  const TensorType *tt = lt ? lt : rt;
  auto bad = [&]() {
    diags.report(DiagId::err_tensor_operands, binary->opLoc, {spelling, l->str(), r->str()});
    return types.errorType();
  };
  // The other operand: the same tensor type, or a scalar of its element type.
  if ((lt && rt && lt != rt) || (!lt && l != tt->element) || (!rt && r != tt->element))
    return bad();
  const Type *e = tt->element;
  switch (binary->op) {
  case BinaryOp::Add:
  case BinaryOp::Sub:
  case BinaryOp::Mul:
  case BinaryOp::Div:
    if (!e->isNumeric())
      return bad();
    return tt;
  case BinaryOp::MatMul:
    if (!lt || !rt || !e->isFloatingPoint()) {
      diags.report(DiagId::err_binary_operands, binary->opLoc, {spelling, l->str(), r->str()});
      return types.errorType();
    }
    return tt;
  case BinaryOp::Eq:
  case BinaryOp::Ne:
    return types.tensorType(types.boolType());
  case BinaryOp::Lt:
  case BinaryOp::Le:
  case BinaryOp::Gt:
  case BinaryOp::Ge:
    if (!e->isNumeric())
      return bad();
    return types.tensorType(types.boolType());
  case BinaryOp::And:
  case BinaryOp::Or:
    if (e->kind != TypeKind::Bool)
      return bad();
    return tt;
  default:
    return bad();
  }
}

} // namespace dlc::sema
