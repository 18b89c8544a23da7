// Semantic types: interned, immutable, compared by pointer. Created by sema,
// read by every later phase (ir/, codegen/) — DIR values carry these types.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlc::ast {
class StructDecl;
} // namespace dlc::ast

namespace dlc::sema {

enum class TypeKind : uint8_t {
  Error,    // the type of an expression that failed to check (suppresses cascades)
  Int,      // 64-bit signed
  Float,    // 32-bit IEEE
  Double,   // 64-bit IEEE
  Bool,
  String,
  Tuple,    // (A, B, ...); the empty tuple is the unit type `()`
  Array,    // [T]
  Function, // (A, B) -> R, a closure value
  Struct,
  Tensor,   // Tensor<E> (the tensor issue)
};

class Type {
public:
  TypeKind kind;

  bool isError() const { return kind == TypeKind::Error; }
  bool isUnit() const;
  bool isFloatingPoint() const { return kind == TypeKind::Float || kind == TypeKind::Double; }
  bool isNumeric() const { return kind == TypeKind::Int || isFloatingPoint(); }
  bool isScalar() const { return isNumeric() || kind == TypeKind::Bool; }
  /// True when values of this type own heap memory (strings, arrays,
  /// closures, tensors, or aggregates containing one).
  bool isManaged() const;
  /// The type as written in DL: `Float`, `(Int, [Float])`, `(Float) -> Float`.
  std::string str() const;

  virtual ~Type() = default;

protected:
  explicit Type(TypeKind kind) : kind(kind) {}
};

class TupleType : public Type {
public:
  std::vector<const Type *> elements;
  explicit TupleType(std::vector<const Type *> e) : Type(TypeKind::Tuple), elements(std::move(e)) {}
};

class ArrayType : public Type {
public:
  const Type *element;
  explicit ArrayType(const Type *e) : Type(TypeKind::Array), element(e) {}
};

class FunctionType : public Type {
public:
  std::vector<const Type *> params;
  const Type *result;
  FunctionType(std::vector<const Type *> p, const Type *r)
      : Type(TypeKind::Function), params(std::move(p)), result(r) {}
};

class TensorType : public Type {
public:
  const Type *element; // Float, Double, Int or Bool
  explicit TensorType(const Type *e) : Type(TypeKind::Tensor), element(e) {}
};

/// A struct type. Created when sema first sees the declaration; its fields
/// are filled in once their types are resolved.
class StructType : public Type {
public:
  struct Field {
    std::string name;
    const Type *type;
    bool noDerivative = false;
  };
  std::string name;
  ast::StructDecl *decl = nullptr; // null for compiler-synthesized structs
  std::vector<Field> fields;
  bool complete = false;
  /// Declared `: Differentiable` (so usable as a differentiated parameter or
  /// result), or a synthesized tangent struct.
  bool differentiable = false;
  /// Conforms through a trait that refines Differentiable (`struct Flatten:
  /// Layer`): a layer without parameters gets an empty tangent rather than
  /// an error.
  bool emptyTangentAllowed = false;
  /// For a synthesized `S.Tangent`: the struct S it is the tangent of.
  const StructType *tangentOf = nullptr;

  int fieldIndex(const std::string &fieldName) const;
  StructType(std::string n, ast::StructDecl *d) : Type(TypeKind::Struct), name(std::move(n)), decl(d) {}
};

/// Owns and interns every type of a compilation. Lives as long as the DIR
/// module that uses it.
class TypeContext {
public:
  TypeContext();
  TypeContext(const TypeContext &) = delete;
  TypeContext &operator=(const TypeContext &) = delete;

  const Type *errorType() const { return error; }
  const Type *intType() const { return intTy; }
  const Type *floatType() const { return floatTy; }
  const Type *doubleType() const { return doubleTy; }
  const Type *boolType() const { return boolTy; }
  const Type *stringType() const { return stringTy; }
  const TupleType *unitType() { return tupleType({}); }

  const TupleType *tupleType(const std::vector<const Type *> &elements);
  const ArrayType *arrayType(const Type *element);
  const FunctionType *functionType(const std::vector<const Type *> &params, const Type *result);
  const TensorType *tensorType(const Type *element);
  /// Whether tensorType(element) was ever made.
  bool hasTensorType(const Type *element) const { return tensors.count(element) != 0; }
  /// Creates a new (nominal) struct type; never interned.
  StructType *createStruct(std::string name, ast::StructDecl *decl);

  const std::vector<StructType *> &structs() const { return structList; }

  // --- Differentiation (LANGUAGE.md §2, §5.2) ---
  /// The tangent type of `t`, or null when `t` has none: Float and Double are
  /// their own; a tuple's is the tuple of its elements' (with `()` for an
  /// element without one); `[T]`'s is `[T.Tangent]`; a struct's is its
  /// synthesized `S.Tangent` (fields: those with a tangent and no
  /// @noDerivative); a tangent struct is its own. Defined for every type,
  /// including structs not declared Differentiable: AD uses it internally.
  const Type *tangentType(const Type *t);
  /// Whether `t` is Differentiable in the language's sense (§2): a parameter
  /// of this type is differentiated. Structs must be declared Differentiable
  /// and tuples differentiable in every element.
  bool isDifferentiable(const Type *t);
  /// The scalar type of a tangent's leaves (its first Float or Double); the
  /// type of scalars that tangent arithmetic multiplies by. Null if none.
  const Type *tangentScalar(const Type *t);
  /// For struct S and field i of S: the index of its field in S.Tangent, or -1.
  int tangentFieldIndex(const StructType *s, unsigned field);

private:
  std::vector<std::unique_ptr<Type>> owned;
  const Type *error, *intTy, *floatTy, *doubleTy, *boolTy, *stringTy;
  std::map<std::vector<const Type *>, const TupleType *> tuples;
  std::map<const Type *, const ArrayType *> arrays;
  std::map<std::pair<std::vector<const Type *>, const Type *>, const FunctionType *> functions;
  std::map<const Type *, const TensorType *> tensors;
  std::map<const Type *, const Type *> tangents; // null entries: no tangent
  std::map<const StructType *, std::vector<int>> tangentFields;
  std::vector<StructType *> structList;
};

/// Checked downcasts.
inline const TupleType *asTuple(const Type *t) {
  return t && t->kind == TypeKind::Tuple ? static_cast<const TupleType *>(t) : nullptr;
}
inline const ArrayType *asArray(const Type *t) {
  return t && t->kind == TypeKind::Array ? static_cast<const ArrayType *>(t) : nullptr;
}
inline const FunctionType *asFunction(const Type *t) {
  return t && t->kind == TypeKind::Function ? static_cast<const FunctionType *>(t) : nullptr;
}
inline const StructType *asStruct(const Type *t) {
  return t && t->kind == TypeKind::Struct ? static_cast<const StructType *>(t) : nullptr;
}
inline const TensorType *asTensor(const Type *t) {
  return t && t->kind == TypeKind::Tensor ? static_cast<const TensorType *>(t) : nullptr;
}

} // namespace dlc::sema
