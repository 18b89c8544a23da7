// Semantic types: construction, interning and spelling.
#include "sema/Type.h"

namespace dlc::sema {

namespace {
class PrimitiveType : public Type {
public:
  explicit PrimitiveType(TypeKind k) : Type(k) {}
};
} // namespace

bool Type::isUnit() const {
  auto *t = asTuple(this);
  return t && t->elements.empty();
}

bool Type::isManaged() const {
  switch (kind) {
  case TypeKind::Error:
  case TypeKind::Int:
  case TypeKind::Float:
  case TypeKind::Double:
  case TypeKind::Bool:
    return false;
  case TypeKind::String:
  case TypeKind::Array:
  case TypeKind::Function:
  case TypeKind::Tensor:
    return true;
  case TypeKind::Tuple:
    for (const Type *e : asTuple(this)->elements)
      if (e->isManaged())
        return true;
    return false;
  case TypeKind::Struct:
    for (const auto &f : asStruct(this)->fields)
      if (f.type->isManaged())
        return true;
    return false;
  }
  return false;
}

std::string Type::str() const {
  switch (kind) {
  case TypeKind::Error:
    return "<error>";
  case TypeKind::Int:
    return "Int";
  case TypeKind::Float:
    return "Float";
  case TypeKind::Double:
    return "Double";
  case TypeKind::Bool:
    return "Bool";
  case TypeKind::String:
    return "String";
  case TypeKind::Tuple: {
    std::string s = "(";
    const auto &elems = asTuple(this)->elements;
    for (size_t i = 0; i < elems.size(); ++i)
      s += (i ? ", " : "") + elems[i]->str();
    return s + ")";
  }
  case TypeKind::Array:
    return "[" + asArray(this)->element->str() + "]";
  case TypeKind::Function: {
    auto *f = asFunction(this);
    std::string s = "(";
    for (size_t i = 0; i < f->params.size(); ++i)
      s += (i ? ", " : "") + f->params[i]->str();
    return s + ") -> " + f->result->str();
  }
  case TypeKind::Struct:
    return asStruct(this)->name;
  case TypeKind::Tensor: {
    const Type *e = asTensor(this)->element;
    return e->kind == TypeKind::Float ? "Tensor" : "Tensor<" + e->str() + ">";
  }
  }
  return "<error>";
}

int StructType::fieldIndex(const std::string &fieldName) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == fieldName)
      return int(i);
  return -1;
}

TypeContext::TypeContext() {
  auto prim = [&](TypeKind k) {
    owned.push_back(std::make_unique<PrimitiveType>(k));
    return owned.back().get();
  };
  error = prim(TypeKind::Error);
  intTy = prim(TypeKind::Int);
  floatTy = prim(TypeKind::Float);
  doubleTy = prim(TypeKind::Double);
  boolTy = prim(TypeKind::Bool);
  stringTy = prim(TypeKind::String);
}

const TupleType *TypeContext::tupleType(const std::vector<const Type *> &elements) {
  auto it = tuples.find(elements);
  if (it != tuples.end())
    return it->second;
  auto t = std::make_unique<TupleType>(elements);
  const TupleType *raw = t.get();
  owned.push_back(std::move(t));
  tuples.emplace(elements, raw);
  return raw;
}

const ArrayType *TypeContext::arrayType(const Type *element) {
  auto it = arrays.find(element);
  if (it != arrays.end())
    return it->second;
  auto t = std::make_unique<ArrayType>(element);
  const ArrayType *raw = t.get();
  owned.push_back(std::move(t));
  arrays.emplace(element, raw);
  return raw;
}

const FunctionType *TypeContext::functionType(const std::vector<const Type *> &params,
                                              const Type *result) {
  auto key = std::make_pair(params, result);
  auto it = functions.find(key);
  if (it != functions.end())
    return it->second;
  auto t = std::make_unique<FunctionType>(params, result);
  const FunctionType *raw = t.get();
  owned.push_back(std::move(t));
  functions.emplace(key, raw);
  return raw;
}

const TensorType *TypeContext::tensorType(const Type *element) {
  auto it = tensors.find(element);
  if (it != tensors.end())
    return it->second;
  auto t = std::make_unique<TensorType>(element);
  const TensorType *raw = t.get();
  owned.push_back(std::move(t));
  tensors.emplace(element, raw);
  return raw;
}

StructType *TypeContext::createStruct(std::string name, ast::StructDecl *decl) {
  auto t = std::make_unique<StructType>(std::move(name), decl);
  StructType *raw = t.get();
  owned.push_back(std::move(t));
  structList.push_back(raw);
  return raw;
}

const Type *TypeContext::tangentType(const Type *t) {
  auto it = tangents.find(t);
  if (it != tangents.end())
    return it->second;
  const Type *result = nullptr;
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    result = t;
    break;
  case TypeKind::Tuple: {
    std::vector<const Type *> elements;
    bool any = false;
    for (const Type *e : asTuple(t)->elements) {
      const Type *te = tangentType(e);
      any |= te != nullptr;
      elements.push_back(te ? te : unitType());
    }
    result = any ? tupleType(elements) : nullptr;
    break;
  }
  case TypeKind::Array:
    if (const Type *te = tangentType(asArray(t)->element))
      result = arrayType(te);
    break;
  case TypeKind::Tensor:
    if (asTensor(t)->element->isFloatingPoint())
      result = t;
    break;
  case TypeKind::Struct: {
    auto *st = asStruct(t);
    if (st->tangentOf) {
      result = st;
      break;
    }
    tangents[t] = nullptr; // a struct that contains itself (through an array) has none
    std::vector<StructType::Field> fields;
    std::vector<int> map;
    for (const StructType::Field &f : st->fields) {
      const Type *tf = f.noDerivative ? nullptr : tangentType(f.type);
      map.push_back(tf ? int(fields.size()) : -1);
      if (tf)
        fields.push_back({f.name, tf, false});
    }
    if (fields.empty() && !st->emptyTangentAllowed)
      break;
    StructType *tan = createStruct(st->name + ".Tangent", nullptr);
    tan->fields = std::move(fields);
    tan->complete = true;
    tan->differentiable = true;
    tan->tangentOf = st;
    tangentFields[st] = std::move(map);
    result = tan;
    break;
  }
  default:
    break;
  }
  tangents[t] = result;
  return result;
}

bool TypeContext::isDifferentiable(const Type *t) {
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return true;
  case TypeKind::Tuple: {
    auto *tt = asTuple(t);
    if (tt->elements.empty())
      return false;
    for (const Type *e : tt->elements)
      if (!isDifferentiable(e))
        return false;
    return true;
  }
  case TypeKind::Array:
    return isDifferentiable(asArray(t)->element);
  case TypeKind::Tensor:
    return asTensor(t)->element->isFloatingPoint();
  case TypeKind::Struct:
    return asStruct(t)->differentiable && tangentType(t) != nullptr;
  default:
    return false;
  }
}

const Type *TypeContext::tangentScalar(const Type *t) {
  switch (t->kind) {
  case TypeKind::Float:
  case TypeKind::Double:
    return t;
  case TypeKind::Array:
    return tangentScalar(asArray(t)->element);
  case TypeKind::Tensor:
    return asTensor(t)->element->isFloatingPoint() ? asTensor(t)->element : nullptr;
  case TypeKind::Tuple:
    for (const Type *e : asTuple(t)->elements)
      if (const Type *s = tangentScalar(e))
        return s;
    return nullptr;
  case TypeKind::Struct:
    for (const auto &f : asStruct(t)->fields)
      if (const Type *s = tangentScalar(f.type))
        return s;
    return nullptr;
  default:
    return nullptr;
  }
}

int TypeContext::tangentFieldIndex(const StructType *s, unsigned field) {
  if (s->tangentOf)
    return int(field);
  if (!tangentType(s))
    return -1;
  const std::vector<int> &map = tangentFields[s];
  return field < map.size() ? map[field] : -1;
}

} // namespace dlc::sema
