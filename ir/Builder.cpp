// Tangent-space arithmetic emitted into generated functions (automatic
// differentiation, tangent arithmetic in lowering): zeros, sums and array
// helpers. Tangent types come from TypeContext::tangentType.
//
// Note [Zero tangent arrays]
// The zero of `[T].Tangent` is the empty array, whatever the primal's length,
// so a zero never needs the length of the array it stands for. More
// generally a tangent array may be shorter than its primal and stands for
// itself padded with zeros: a read past its end yields zero, and a sum
// accumulates the shorter operand into the longer. Sums of arrays accumulate
// into their first operand in place (`array.accum`): reverse mode consumes
// each adjoint exactly once, so the first operand is never seen again.
//
// Note [Zero tangent tensors]
// The zero of `Tensor<F>` is the null tensor (`tensor.zero`), whatever the
// primal's shape; the runtime's operations that are linear in a tensor
// operand accept it ([zero-ok] in runtime/dlrt.h), so adjoint and tangent
// rules never need a shape to make a zero. Tangents handed to the user (the
// results of grad, valueAndGrad, a pullback and jvp) are materialized against
// their primal (`tensor.materialize`), so user code never sees a null tensor.
//
// Note [Folding gets of built aggregates]
// Reverse mode accumulates a struct's adjoint one field at a time: the
// adjoint of `m.w1` is `struct.set(zero, w1, g)`, summed into m's adjoint by
// add, which sums field by field. A get of a struct or tuple this builder made
// folds to the part it was made from, so those sums see the zeros zero() made
// and drop them; without the fold every field of a model's gradient was a
// copy summed from zero tensors (one more pass over every parameter per
// step). The fold is sound anywhere: an aggregate dominates its use, and its
// parts dominate it.
#include "ir/Builder.h"

namespace dlc::ir {

ValueId Builder::zero(const Type *t) {
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double: {
    ValueId z = constFloat(t, 0.0);
    knownZeros.insert(z.index);
    return z;
  }
  case TypeKind::Tuple: {
    std::vector<ValueId> parts;
    for (const Type *e : sema::asTuple(t)->elements)
      parts.push_back(zero(e));
    return emit(Op::Tuple, t, parts);
  }
  case TypeKind::Struct: {
    std::vector<ValueId> fields;
    for (const auto &field : sema::asStruct(t)->fields)
      fields.push_back(zero(field.type));
    return emit(Op::StructMake, t, fields);
  }
  case TypeKind::Array: {
    ValueId z = emit(Op::ArrayMake, t, {});
    knownZeros.insert(z.index);
    return z;
  }
  case TypeKind::Tensor: {
    // The null tensor: zero of any shape (Note [Zero tangent tensors]).
    ValueId z = tensor(TensorOp::Zero, t, {});
    knownZeros.insert(z.index);
    return z;
  }
  default:
    DLC_UNREACHABLE("zero of a type without tangent space");
  }
}

ValueId Builder::neg(ValueId a) {
  const Type *t = typeOf(a);
  if (t->kind == TypeKind::Tensor)
    return tensor(TensorOp::Neg, t, {a});
  DLC_ASSERT(t->isFloatingPoint(), "negation is only needed on scalar or tensor tangents");
  return emit(Op::Neg, t, {a});
}

ValueId Builder::add(ValueId a, ValueId b) {
  // Adding a zero made by zero() is the other operand (for floats, up to the
  // sign of a zero sum): adjoint slots start as zeros and are reset to zeros.
  if (knownZeros.count(a.index))
    return b;
  if (knownZeros.count(b.index))
    return a;
  const Type *t = typeOf(a);
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return emit(Op::Add, t, {a, b});
  case TypeKind::Tensor:
    return tensor(TensorOp::Add, t, {a, b});
  case TypeKind::Tuple: {
    auto *tt = sema::asTuple(t);
    if (tt->elements.empty())
      return a;
    std::vector<ValueId> parts;
    for (size_t i = 0; i < tt->elements.size(); ++i)
      parts.push_back(add(get(a, i), get(b, i)));
    return emit(Op::Tuple, t, parts);
  }
  case TypeKind::Struct: {
    auto *st = sema::asStruct(t);
    std::vector<ValueId> fields;
    for (size_t i = 0; i < st->fields.size(); ++i) {
      const Type *ft = st->fields[i].type;
      fields.push_back(
          add(emit(Op::StructGet, ft, {a}, int64_t(i)), emit(Op::StructGet, ft, {b}, int64_t(i))));
    }
    return emit(Op::StructMake, t, fields);
  }
  case TypeKind::Array: {
    // The longer operand accumulates the shorter one in place (a missing
    // element is zero, Note [Zero tangent arrays]).
    const Type *intTy = types().intType();
    const Type *boolTy = types().boolType();
    const Type *elem = sema::asArray(t)->element;
    BlockId swap = block("add.swap"), head = block("add.loop"), body = block("add.body"),
            done = block("add.done");
    BlockId start = block("add.start");
    ValueId na = emit(Op::ArrayCount, intTy, {a});
    ValueId nb = emit(Op::ArrayCount, intTy, {b});
    condBr(emit(Op::CmpGe, boolTy, {na, nb}), start, {a, b, nb}, swap, {});
    at(swap);
    br(start, {b, a, na});
    ValueId into = arg(start, t), from = arg(start, t), n = arg(start, intTy);
    at(start);
    ValueId zeroI = constInt(0);
    br(head, {zeroI, into});
    at(head);
    ValueId i = arg(head, intTy), acc = arg(head, t);
    ValueId result = arg(done, t);
    condBr(emit(Op::CmpLt, boolTy, {i, n}), body, {}, done, {acc});
    at(body);
    ValueId bi = emit(Op::ArrayGet, elem, {from, i});
    ValueId next;
    if (elem->isFloatingPoint()) {
      next = emit(Op::ArrayAccum, t, {acc, i, bi, n});
    } else {
      ValueId ai = emit(Op::ArrayGet, elem, {acc, i});
      next = emit(Op::ArraySet, t, {acc, i, add(ai, bi)});
    }
    ValueId i1 = emit(Op::Add, intTy, {i, constInt(1)});
    br(head, {i1, next});
    at(done);
    return result;
  }
  default:
    DLC_UNREACHABLE("sum of a type without tangent space");
  }
}

namespace {
/// Whether `leaf` holds for t or for a part of it (through tuples and structs).
bool anyPart(const Type *t, bool (*leaf)(const Type *)) {
  if (leaf(t))
    return true;
  switch (t->kind) {
  case TypeKind::Tuple:
    for (const Type *e : sema::asTuple(t)->elements)
      if (anyPart(e, leaf))
        return true;
    return false;
  case TypeKind::Struct:
    for (const auto &f : sema::asStruct(t)->fields)
      if (anyPart(f.type, leaf))
        return true;
    return false;
  default:
    return false;
  }
}
} // namespace

bool containsTensor(const Type *t) {
  return anyPart(t, [](const Type *x) { return x->kind == TypeKind::Tensor; });
}

bool isRefcounted(const Type *t) {
  // Arrays whatever their elements (Note [Array ownership]), closures (Note
  // [Closure ownership]) and strings.
  return anyPart(t, [](const Type *x) {
    return x->kind == TypeKind::Tensor || x->kind == TypeKind::Array ||
           x->kind == TypeKind::Function || x->kind == TypeKind::String;
  });
}

ValueId Builder::materializeLike(ValueId tangent, ValueId primal) {
  const Type *t = typeOf(tangent);
  if (!containsTensor(t))
    return tangent;
  switch (t->kind) {
  case TypeKind::Tensor:
    return tensor(TensorOp::Materialize, t, {tangent, primal});
  case TypeKind::Tuple: {
    auto *tt = sema::asTuple(t);
    auto *pt = sema::asTuple(typeOf(primal));
    std::vector<ValueId> parts;
    for (size_t i = 0; i < tt->elements.size(); ++i) {
      ValueId part = get(tangent, i);
      if (pt && i < pt->elements.size() && containsTensor(tt->elements[i]))
        part = materializeLike(part, get(primal, i));
      parts.push_back(part);
    }
    return emit(Op::Tuple, t, parts);
  }
  case TypeKind::Struct: {
    // A tangent struct's field k belongs to the primal's field of that name.
    auto *st = sema::asStruct(t);
    auto *ps = sema::asStruct(typeOf(primal));
    std::vector<ValueId> fields;
    for (size_t k = 0; k < st->fields.size(); ++k) {
      const Type *ft = st->fields[k].type;
      ValueId part = emit(Op::StructGet, ft, {tangent}, int64_t(k));
      int pi = ps ? ps->fieldIndex(st->fields[k].name) : -1;
      if (pi >= 0 && containsTensor(ft))
        part = materializeLike(part, emit(Op::StructGet, ps->fields[size_t(pi)].type, {primal}, pi));
      fields.push_back(part);
    }
    return emit(Op::StructMake, t, fields);
  }
  default:
    return tangent;
  }
}

ValueId Builder::elementOrZero(ValueId a, ValueId i) {
  const Type *elem = sema::asArray(typeOf(a))->element;
  BlockId read = block("elem.read"), done = block("elem.done");
  ValueId result = arg(done, elem);
  ValueId n = emit(Op::ArrayCount, types().intType(), {a});
  ValueId inside = emit(Op::CmpLt, types().boolType(), {i, n});
  ValueId z = zero(elem);
  condBr(inside, read, {}, done, {z});
  at(read);
  ValueId x = emit(Op::ArrayGet, elem, {a, i});
  br(done, {x});
  at(done);
  return result;
}

ValueId Builder::materialize(ValueId a, ValueId n) {
  const Type *t = typeOf(a);
  const Type *elem = sema::asArray(t)->element;
  if (!elem->isManaged())
    return emit(Op::ArrayMaterialize, t, {a, n});
  BlockId fill = block("materialize.fill"), done = block("materialize.done");
  ValueId result = arg(done, t);
  ValueId count = emit(Op::ArrayCount, types().intType(), {a});
  ValueId empty = emit(Op::CmpEq, types().boolType(), {count, constInt(0)});
  condBr(empty, fill, {}, done, {a});
  at(fill);
  ValueId zeros = emit(Op::ArrayRepeat, t, {zero(elem), n});
  br(done, {zeros});
  at(done);
  return result;
}

} // namespace dlc::ir
