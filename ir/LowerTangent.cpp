// Lowering of tangent arithmetic (LANGUAGE.md §5.2): `+ - * /` between
// S.Tangent values or with a scalar, `sqrt`, `zerosLike`, `dot` and
// `s.move(by: t)`, expanded fieldwise into DIR. Tangent arrays may be shorter
// than their counterparts (an empty one is a zero; Note [Zero tangent arrays]
// in ir/Builder.cpp): a missing element reads as zero. Unlike AD's sums,
// these never write into an operand: user values may be shared.
#include "ir/LowerImpl.h"

#include <functional>

namespace dlc::ir::lowering {

namespace {
bool isAggregateOrArray(const Type *t) {
  return t->kind == TypeKind::Tuple || t->kind == TypeKind::Struct || t->kind == TypeKind::Array;
}
} // namespace

ValueId FunctionLowerer::loopRange(ValueId n, ValueId init,
                                   const std::function<ValueId(ValueId, ValueId)> &body) {
  const Type *intTy = types().intType();
  BlockId head = f.addBlock("tangent.loop"), step = f.addBlock("tangent.body"),
          exit = f.addBlock("tangent.done");
  branch(head, {constInt(0), init});
  cur = head;
  ValueId i = f.addValue(intTy), acc = f.addValue(f.typeOf(init));
  f.block(head).args = {i, acc};
  ValueId done = f.addValue(f.typeOf(init));
  f.block(exit).args = {done};
  condBranch(emit(Op::CmpLt, types().boolType(), {i, n}), step, {}, exit, {acc});
  cur = step;
  ValueId next = body(i, acc);
  ValueId i1 = emit(Op::Add, intTy, {i, constInt(1)});
  branch(head, {i1, next});
  cur = exit;
  return done;
}

ValueId FunctionLowerer::elementOrZero(ValueId array, ValueId i) {
  Builder b = here();
  ValueId r = b.elementOrZero(array, i);
  cur = b.cur;
  return r;
}

ValueId FunctionLowerer::tangentZero(const Type *t, ValueId like) {
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return lowerLiteralFloat(0.0, t, {});
  case TypeKind::Tuple: {
    std::vector<ValueId> parts;
    auto *tt = sema::asTuple(t);
    auto *likeType = sema::asTuple(f.typeOf(like)); // t itself, or the primal tuple
    for (size_t i = 0; i < tt->elements.size(); ++i)
      parts.push_back(tangentZero(
          tt->elements[i], emit(Op::TupleGet, likeType->elements[i], {like}, {}, int64_t(i))));
    return emit(Op::Tuple, t, parts);
  }
  case TypeKind::Struct: {
    std::vector<ValueId> parts;
    auto *st = sema::asStruct(t);
    auto *likeType = sema::asStruct(f.typeOf(like));
    if (likeType && likeType != st) {
      // `like` is the primal struct S of t = S.Tangent: field k of the
      // tangent is the zero of S's field whose tangent index is k.
      parts.resize(st->fields.size());
      for (size_t i = 0; i < likeType->fields.size(); ++i) {
        int k = types().tangentFieldIndex(likeType, unsigned(i));
        if (k < 0)
          continue;
        ValueId field = emit(Op::StructGet, likeType->fields[i].type, {like}, {}, int64_t(i));
        parts[size_t(k)] = tangentZero(st->fields[size_t(k)].type, field);
      }
      return emit(Op::StructMake, t, parts);
    }
    for (size_t i = 0; i < st->fields.size(); ++i)
      parts.push_back(tangentZero(st->fields[i].type,
                                  emit(Op::StructGet, st->fields[i].type, {like}, {}, int64_t(i))));
    return emit(Op::StructMake, t, parts);
  }
  case TypeKind::Tensor:
    return tensorOp(TensorOp::FillLike, t, {like, lowerLiteralFloat(0.0, sema::asTensor(t)->element, {})});
  case TypeKind::Array:
    // Zeros of `like`'s length keep a zerosLike(...) printable as zeros.
    if (!sema::asArray(t)->element->isManaged())
      return emit(Op::ArrayMaterialize, t,
                  {emit(Op::ArrayMake, t, {}), emit(Op::ArrayCount, types().intType(), {like})});
    return emit(Op::ArrayMake, t, {});
  default:
    DLC_UNREACHABLE("zero of a type without tangent space");
  }
}

ValueId FunctionLowerer::tangentProject(const Type *t, ValueId x) {
  const Type *xt = f.typeOf(x);
  if (xt == t)
    return x;
  if (auto *st = sema::asStruct(xt)) {
    auto *tt = sema::asStruct(t);
    std::vector<ValueId> parts(tt->fields.size());
    for (size_t i = 0; i < st->fields.size(); ++i) {
      int k = types().tangentFieldIndex(st, unsigned(i));
      if (k < 0)
        continue;
      ValueId field = emit(Op::StructGet, st->fields[i].type, {x}, {}, int64_t(i));
      parts[size_t(k)] = tangentProject(tt->fields[size_t(k)].type, field);
    }
    return emit(Op::StructMake, t, parts);
  }
  if (auto *tup = sema::asTuple(xt)) {
    auto *tt = sema::asTuple(t);
    std::vector<ValueId> parts;
    for (size_t i = 0; i < tup->elements.size(); ++i) {
      ValueId e = emit(Op::TupleGet, tup->elements[i], {x}, {}, int64_t(i));
      parts.push_back(types().tangentType(tup->elements[i])
                          ? tangentProject(tt->elements[i], e)
                          : emit(Op::Tuple, tt->elements[i], {}));
    }
    return emit(Op::Tuple, t, parts);
  }
  DLC_UNREACHABLE("asTangent of a type sema rejects");
}

ValueId FunctionLowerer::tangentFieldwise(Op op, ValueId a, ValueId b, const Type *t) {
  // `a` and `b` have type t, or are scalars broadcast over t (b may be
  // invalid for a unary op).
  auto part = [&](ValueId x, Op get, const Type *pt, size_t i) -> ValueId {
    if (!x.isValid() || !isAggregateOrArray(f.typeOf(x)))
      return x;
    return emit(get, pt, {x}, {}, int64_t(i));
  };
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double: {
    auto conv = [&](ValueId x) {
      return f.typeOf(x) == t ? x : emit(Op::Convert, t, {x});
    };
    if (op == Op::Sqrt)
      return emit(Op::Sqrt, t, {conv(a)});
    return emit(op, t, {conv(a), conv(b)});
  }
  case TypeKind::Tuple: {
    std::vector<ValueId> parts;
    auto *tt = sema::asTuple(t);
    for (size_t i = 0; i < tt->elements.size(); ++i) {
      const Type *et = tt->elements[i];
      parts.push_back(tangentFieldwise(op, part(a, Op::TupleGet, et, i),
                                       part(b, Op::TupleGet, et, i), et));
    }
    return emit(Op::Tuple, t, parts);
  }
  case TypeKind::Struct: {
    std::vector<ValueId> parts;
    auto *st = sema::asStruct(t);
    for (size_t i = 0; i < st->fields.size(); ++i) {
      const Type *ft = st->fields[i].type;
      parts.push_back(tangentFieldwise(op, part(a, Op::StructGet, ft, i),
                                       part(b, Op::StructGet, ft, i), ft));
    }
    return emit(Op::StructMake, t, parts);
  }
  case TypeKind::Tensor: {
    // A scalar operand broadcasts (converted to the element type first).
    const Type *elem = sema::asTensor(t)->element;
    auto asTensor = [&](ValueId x) {
      if (f.typeOf(x) == t)
        return x;
      if (f.typeOf(x) != elem)
        x = emit(Op::Convert, elem, {x});
      return tensorOp(TensorOp::Scalar, t, {x});
    };
    if (op == Op::Sqrt)
      return tensorOp(TensorOp::Sqrt, t, {asTensor(a)});
    TensorOp top = op == Op::Add   ? TensorOp::Add
                   : op == Op::Sub ? TensorOp::Sub
                   : op == Op::Mul ? TensorOp::Mul
                                   : TensorOp::Div;
    return tensorOp(top, t, {asTensor(a), asTensor(b)});
  }
  case TypeKind::Array: {
    const Type *elem = sema::asArray(t)->element;
    const Type *intTy = types().intType();
    auto countOf = [&](ValueId x) {
      return x.isValid() && f.typeOf(x) == t ? emit(Op::ArrayCount, intTy, {x}) : constInt(0);
    };
    ValueId na = countOf(a), nb = countOf(b);
    ValueId n = emit(Op::Max, intTy, {na, nb});
    ValueId init = emit(Op::ArrayMake, t, {});
    if (!elem->isManaged())
      init = emit(Op::ArrayMaterialize, t, {init, n});
    return loopRange(n, init, [&](ValueId i, ValueId acc) {
      auto at = [&](ValueId x) {
        return x.isValid() && f.typeOf(x) == t ? elementOrZero(x, i) : x;
      };
      ValueId ai = at(a);
      ValueId bi = at(b);
      ValueId v = tangentFieldwise(op, ai, bi, elem);
      if (elem->isFloatingPoint()) // acc is a fresh array of zeros: accumulate in place
        return emit(Op::ArrayAccum, t, {acc, i, v, n});
      return elem->isManaged() ? emit(Op::ArrayAppend, t, {acc, v})
                               : emit(Op::ArraySet, t, {acc, i, v});
    });
  }
  default:
    DLC_UNREACHABLE("tangent arithmetic on a type without tangent space");
  }
}

ValueId FunctionLowerer::tangentDot(ValueId a, ValueId b, const Type *scalar) {
  const Type *t = f.typeOf(a);
  auto conv = [&](ValueId x) { return f.typeOf(x) == scalar ? x : emit(Op::Convert, scalar, {x}); };
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return conv(emit(Op::Mul, t, {a, b}));
  case TypeKind::Tuple:
  case TypeKind::Struct: {
    bool isTuple = t->kind == TypeKind::Tuple;
    size_t n = isTuple ? sema::asTuple(t)->elements.size() : sema::asStruct(t)->fields.size();
    ValueId sum = lowerLiteralFloat(0.0, scalar, {});
    for (size_t i = 0; i < n; ++i) {
      const Type *et = isTuple ? sema::asTuple(t)->elements[i] : sema::asStruct(t)->fields[i].type;
      if (!types().tangentScalar(et))
        continue;
      Op get = isTuple ? Op::TupleGet : Op::StructGet;
      ValueId ai = emit(get, et, {a}, {}, int64_t(i)), bi = emit(get, et, {b}, {}, int64_t(i));
      sum = emit(Op::Add, scalar, {sum, tangentDot(ai, bi, scalar)});
    }
    return sum;
  }
  case TypeKind::Tensor: {
    const Type *elem = sema::asTensor(t)->element;
    return conv(tensorOp(TensorOp::SumAll, elem, {tensorOp(TensorOp::Mul, t, {a, b})}));
  }
  case TypeKind::Array: {
    const Type *intTy = types().intType();
    ValueId n = emit(Op::Min, intTy, {emit(Op::ArrayCount, intTy, {a}),
                                      emit(Op::ArrayCount, intTy, {b})});
    const Type *elem = sema::asArray(t)->element;
    return loopRange(n, lowerLiteralFloat(0.0, scalar, {}), [&](ValueId i, ValueId acc) {
      ValueId ai = emit(Op::ArrayGet, elem, {a, i}), bi = emit(Op::ArrayGet, elem, {b, i});
      return emit(Op::Add, scalar, {acc, tangentDot(ai, bi, scalar)});
    });
  }
  default:
    return lowerLiteralFloat(0.0, scalar, {});
  }
}

ValueId FunctionLowerer::moveBy(ValueId s, ValueId t) {
  const Type *st = f.typeOf(s);
  switch (st->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
  case TypeKind::Array:
  case TypeKind::Tensor:
    if (st == f.typeOf(t))
      return tangentFieldwise(Op::Add, s, t, st);
    return s; // arrays of structs move element by element: not needed by the stdlib yet
  case TypeKind::Tuple: {
    auto *tt = sema::asTuple(st);
    auto *tanT = sema::asTuple(f.typeOf(t));
    std::vector<ValueId> parts;
    for (size_t i = 0; i < tt->elements.size(); ++i) {
      ValueId si = emit(Op::TupleGet, tt->elements[i], {s}, {}, int64_t(i));
      if (tanT && i < tanT->elements.size() && types().tangentType(tt->elements[i]))
        si = moveBy(si, emit(Op::TupleGet, tanT->elements[i], {t}, {}, int64_t(i)));
      parts.push_back(si);
    }
    return emit(Op::Tuple, st, parts);
  }
  case TypeKind::Struct: {
    // Every field is read before any is updated, so `s` is dead during the
    // updates and a tensor field it held alone can be updated in place
    // (Note [Tensor ownership] in ir/Ownership.cpp).
    auto *s1 = sema::asStruct(st);
    std::vector<ValueId> fields;
    for (size_t i = 0; i < s1->fields.size(); ++i)
      fields.push_back(emit(Op::StructGet, s1->fields[i].type, {s}, {}, int64_t(i)));
    for (size_t i = 0; i < s1->fields.size(); ++i) {
      int k = types().tangentFieldIndex(s1, unsigned(i));
      if (k >= 0) {
        const Type *kt = sema::asStruct(f.typeOf(t))->fields[size_t(k)].type;
        fields[i] = moveBy(fields[i], emit(Op::StructGet, kt, {t}, {}, k));
      }
    }
    return emit(Op::StructMake, st, fields);
  }
  default:
    return s;
  }
}

} // namespace dlc::ir::lowering
