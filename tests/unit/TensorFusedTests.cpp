// Unit tests of dlrt_t_fused_multi (runtime/tensor_fused.c), the runtime
// entry of a fused kernel with several outputs (ir/Fusion.cpp, Note [Fused
// outputs]): values, the buffers outputs take over, an output computed
// apart at its own shape, the fallback for a zero tangent, and a shape
// error's message. The kernel's loop is written here as codegen emits it.
#include "runtime/dlrt.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"
#include "tests/unit/TensorScope.h"
#include "tests/unit/TensorValues.h"

#include <cstdint>
#include <vector>

namespace {

constexpr const char *L = dlc::testing::kTestLoc;
using dlc::testing::checkFailure;
using dlc::testing::makeTensor;
using dlc::testing::tensorShape;
using dlc::testing::tensorValues;
using Scope = dlc::testing::TensorScope;

// The momentum update as the compiler merges it: inputs v, s, g, p; nodes
// n0 = v * s, n1 = n0 + g (the new velocity), n2 = p - n1 (the new
// parameter); outputs n2 and n1. The loop is written here as codegen emits
// it: `out` is the array of the outputs' data pointers.
void momentumLoop(int64_t r0, int64_t r1, int64_t cols, void *out, void *const *in,
                  const int64_t *rowStride, const int64_t *colStride) {
  double **o = static_cast<double **>(out);
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      auto x = [&](int k) {
        return static_cast<const double *>(in[k])[r * rowStride[k] + c * colStride[k]];
      };
      double v2 = x(0) * x(1) + x(2);
      o[0][r * cols + c] = x(3) - v2;
      o[1][r * cols + c] = v2;
    }
}

const DlFusedNode kMomentumNodes[] = {{1, DLRT_MUL, -1, -2, 0, L}, {1, DLRT_ADD, 0, -3, 0, L},
                                      {1, DLRT_SUB, -4, 1, 0, L}};
const int32_t kMomentumOutputs[] = {2, 1};
const DlFusedKernel kMomentum = {DLRT_F64, 4, 3, kMomentumNodes, momentumLoop, 2, kMomentumOutputs};

} // namespace

TEST_CASE("fused kernels with two outputs: values, buffers taken over, and the fallbacks") {
  Scope s;
  DlTensor *scale = s(makeTensor(DLRT_F64, {}, {0.5}));
  SUBCASE("both outputs take their dying inputs' buffers") {
    DlTensor *v = makeTensor(DLRT_F64, {2, 3}, {1, 2, 3, 4, 5, 6});
    DlTensor *g = s(makeTensor(DLRT_F64, {2, 3}, {10, 20, 30, 40, 50, 60}));
    DlTensor *p = makeTensor(DLRT_F64, {2, 3}, {100, 100, 100, 100, 100, 100});
    void *vData = v->data, *pData = p->data;
    DlTensor *inputs[] = {v, scale, g, p}, *results[2];
    int32_t reuse[] = {3, 0}; // p's reference for the parameter, v's for the velocity
    dlrt_t_fused_multi(&kMomentum, inputs, reuse, results, L);
    s(results[0]), s(results[1]);
    CHECK(tensorValues(results[1]) == std::vector<double>{10.5, 21, 31.5, 42, 52.5, 63});
    CHECK(tensorValues(results[0]) ==
          std::vector<double>{89.5, 79, 68.5, 58, 47.5, 37});
    CHECK(results[0]->data == pData);
    CHECK(results[1]->data == vData);
  }
  SUBCASE("a shared input keeps its values; the result gets a new buffer") {
    DlTensor *v = s(makeTensor(DLRT_F64, {3}, {1, 2, 3}));
    DlTensor *g = s(makeTensor(DLRT_F64, {3}, {0, 0, 1}));
    DlTensor *p = s(makeTensor(DLRT_F64, {3}, {5, 5, 5}));
    dlrt_t_retain(v); // the reference handed over below
    DlTensor *inputs[] = {v, scale, g, p}, *results[2];
    int32_t reuse[] = {-1, 0};
    dlrt_t_fused_multi(&kMomentum, inputs, reuse, results, L);
    s(results[0]), s(results[1]);
    CHECK(results[1] != v);
    CHECK(tensorValues(v) == std::vector<double>{1, 2, 3});
    CHECK(tensorValues(results[1]) == std::vector<double>{0.5, 1, 2.5});
    CHECK(tensorValues(results[0]) == std::vector<double>{4.5, 4, 2.5});
  }
  SUBCASE("an output broadcast where it is read is made at its own shape") {
    DlTensor *v = s(makeTensor(DLRT_F64, {3}, {1, 2, 3}));
    DlTensor *g = s(makeTensor(DLRT_F64, {3}, {1, 1, 1}));
    DlTensor *p = makeTensor(DLRT_F64, {2, 3}, {0, 1, 2, 3, 4, 5});
    DlTensor *inputs[] = {v, scale, g, p}, *results[2];
    int32_t reuse[] = {3, -1};
    dlrt_t_fused_multi(&kMomentum, inputs, reuse, results, L);
    s(results[0]), s(results[1]);
    CHECK(tensorShape(results[1]) == std::vector<int64_t>{3});
    CHECK(tensorValues(results[1]) == std::vector<double>{1.5, 2, 2.5});
    CHECK(tensorShape(results[0]) == std::vector<int64_t>{2, 3});
    CHECK(tensorValues(results[0]) == std::vector<double>{-1.5, -1, -0.5, 1.5, 2, 2.5});
  }
  SUBCASE("a zero tangent (NULL) input: the operations one by one") {
    DlTensor *v = s(makeTensor(DLRT_F64, {2}, {2, 4}));
    DlTensor *p = makeTensor(DLRT_F64, {2}, {10, 10});
    DlTensor *inputs[] = {v, scale, nullptr, p}, *results[2];
    int32_t reuse[] = {3, -1};
    dlrt_t_fused_multi(&kMomentum, inputs, reuse, results, L);
    s(results[0]), s(results[1]);
    CHECK(tensorValues(results[1]) == std::vector<double>{1, 2});
    CHECK(tensorValues(results[0]) == std::vector<double>{9, 8});
  }
}

TEST_CASE("fused kernels with two outputs: a shape mismatch names the operation") {
  checkFailure(
      [] {
        DlTensor *inputs[] = {makeTensor(DLRT_F64, {3}, {1, 2, 3}), makeTensor(DLRT_F64, {}, {1}),
                              makeTensor(DLRT_F64, {3}, {1, 2, 3}), makeTensor(DLRT_F64, {2, 4}, std::vector<double>(8))};
        DlTensor *results[2];
        int32_t reuse[] = {-1, -1};
        dlrt_t_fused_multi(&kMomentum, inputs, reuse, results, L);
      },
      "shape mismatch in '-': [2, 4] vs [3]");
}
