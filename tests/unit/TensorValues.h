// Test helpers shared by the tensor runtime unit tests: Float and Double
// tensors built from values in double, and read back the same way. Include
// after <doctest/doctest.h>.
#pragma once

#include "runtime/dlrt.h"
#include "tests/unit/ChildProcess.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace dlc::testing {

/// An [Int] array of `v` (a shape argument).
inline DlArray *intArray(const std::vector<int64_t> &v) {
  DlArray *a = dlrt_array_new(sizeof(int64_t), static_cast<int64_t>(v.size()));
  if (!v.empty())
    std::memcpy(reinterpret_cast<char *>(a) + DLRT_ARRAY_HEADER_SIZE, v.data(),
                v.size() * sizeof(int64_t));
  return a;
}

/// A Float or Double tensor holding `values` (rounded for Float).
inline DlTensor *makeTensor(int32_t kind, const std::vector<int64_t> &shape,
                            const std::vector<double> &values) {
  DlTensor *t = dlrt_t_full(kind, intArray(shape), 0, kTestLoc);
  REQUIRE(t->count == static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    if (kind == DLRT_F32)
      static_cast<float *>(t->data)[i] = static_cast<float>(values[i]);
    else
      static_cast<double *>(t->data)[i] = values[i];
  }
  return t;
}

/// The elements of a Float or Double tensor, as double.
inline std::vector<double> tensorValues(const DlTensor *t) {
  REQUIRE(t != nullptr);
  REQUIRE((t->kind == DLRT_F32 || t->kind == DLRT_F64));
  std::vector<double> v(static_cast<size_t>(t->count));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = t->kind == DLRT_F32 ? static_cast<const float *>(t->data)[i]
                               : static_cast<const double *>(t->data)[i];
  return v;
}

inline std::vector<int64_t> tensorShape(const DlTensor *t) {
  REQUIRE(t != nullptr);
  return std::vector<int64_t>(t->shape, t->shape + t->rank);
}

} // namespace dlc::testing
