// Unit tests for the NN kernels of the runtime (runtime/tensor_nn.c): conv2d
// and its two adjoints, max and average pooling, their adjoint and max
// pooling's tangent. Results are checked against naive loops in double, the
// adjoints also through the adjoint identity and central finite differences,
// and runtime errors come from a forked child.
#include "runtime/dlrt.h"
#include "runtime/tensor_internal.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"
#include "tests/unit/TensorScope.h"
#include "tests/unit/TensorValues.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr const char *L = dlc::testing::kTestLoc;

using dlc::testing::ChildResult;
using dlc::testing::runInChild;

using dlc::testing::checkFailure;

// --- Building and reading tensors ---------------------------------------------

DlArray *ints(const std::vector<int64_t> &v) { return dlc::testing::intArray(v); }

DlTensor *make(int32_t kind, const std::vector<int64_t> &shape, const std::vector<double> &values) {
  return dlc::testing::makeTensor(kind, shape, values);
}
std::vector<double> valuesOf(const DlTensor *t) { return dlc::testing::tensorValues(t); }
std::vector<int64_t> shapeOf(const DlTensor *t) { return dlc::testing::tensorShape(t); }

int64_t countOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

std::vector<double> randomValues(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<double> dist(-2, 2);
  std::vector<double> v(static_cast<size_t>(n));
  for (auto &x : v)
    x = dist(rng);
  return v;
}

// Distinct values (a shuffled ladder with steps of 0.1), so that no pooling
// window has tied maxima and small perturbations never change the winner.
std::vector<double> distinctValues(std::mt19937 &rng, int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[i] = 0.1 * static_cast<double>(i - n / 2);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

double dot(const std::vector<double> &a, const std::vector<double> &b) {
  REQUIRE(a.size() == b.size());
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i)
    s += a[i] * b[i];
  return s;
}

// |got - want| within tolerance * (1 + the largest |want|): sums of many
// terms of both signs round relative to their terms, not to their result.
void checkNear(const std::vector<double> &got, const std::vector<double> &want, double tolerance) {
  REQUIRE(got.size() == want.size());
  double scale = 1;
  for (double w : want)
    scale = std::max(scale, 1 + std::fabs(w));
  int reported = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tolerance * scale) && reported++ < 5)
      CHECK_MESSAGE(false, "element " << i << ": " << got[i] << " vs " << want[i]);
  CHECK(reported == 0);
}

// A TensorScope whose tensors must be fresh results (refcount 1).
struct Scope : dlc::testing::TensorScope {
  DlTensor *operator()(DlTensor *t) {
    REQUIRE(t != nullptr);
    CHECK(t->refcount == 1);
    return TensorScope::operator()(t);
  }
};

// --- Reference computations ---------------------------------------------------

struct ConvCase {
  std::vector<int64_t> x; // [N, H, W, C]
  std::vector<int64_t> f; // [KH, KW, C, O]
  int64_t stride, padding;
};

std::vector<int64_t> convShape(const ConvCase &c) {
  return {c.x[0], (c.x[1] + 2 * c.padding - c.f[0]) / c.stride + 1,
          (c.x[2] + 2 * c.padding - c.f[1]) / c.stride + 1, c.f[3]};
}

// Calls visit(yIndex, xIndex, fIndex) for every product of the convolution:
// the seven loops, skipping taps in the padding.
void forEachTap(const ConvCase &c, const std::function<void(size_t, size_t, size_t)> &visit) {
  int64_t n = c.x[0], h = c.x[1], w = c.x[2], ch = c.x[3];
  int64_t kh = c.f[0], kw = c.f[1], o = c.f[3];
  auto ys = convShape(c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < ys[1]; ++oy)
      for (int64_t ox = 0; ox < ys[2]; ++ox)
        for (int64_t q = 0; q < o; ++q)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j)
              for (int64_t k = 0; k < ch; ++k) {
                int64_t iy = oy * c.stride - c.padding + i, ix = ox * c.stride - c.padding + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                  continue;
                visit(static_cast<size_t>(((b * ys[1] + oy) * ys[2] + ox) * o + q),
                      static_cast<size_t>(((b * h + iy) * w + ix) * ch + k),
                      static_cast<size_t>(((i * kw + j) * ch + k) * o + q));
              }
}

std::vector<double> referenceConv(const ConvCase &c, const std::vector<double> &x,
                                  const std::vector<double> &f) {
  std::vector<double> y(static_cast<size_t>(countOf(convShape(c))), 0.0);
  forEachTap(c, [&](size_t yi, size_t xi, size_t fi) { y[yi] += x[xi] * f[fi]; });
  return y;
}

// The adjoints of the reference: each product y += x * f sends g * f to x and
// g * x to f.
void referenceConvAdjoints(const ConvCase &c, const std::vector<double> &x,
                           const std::vector<double> &f, const std::vector<double> &g,
                           std::vector<double> &dx, std::vector<double> &df) {
  dx.assign(x.size(), 0.0);
  df.assign(f.size(), 0.0);
  forEachTap(c, [&](size_t yi, size_t xi, size_t fi) {
    dx[xi] += g[yi] * f[fi];
    df[fi] += g[yi] * x[xi];
  });
}

struct PoolCase {
  std::vector<int64_t> x; // [N, H, W, C]
  int64_t size, stride, padding;
};

std::vector<int64_t> poolShape(const PoolCase &c) {
  return {c.x[0], (c.x[1] + 2 * c.padding - c.size) / c.stride + 1,
          (c.x[2] + 2 * c.padding - c.size) / c.stride + 1, c.x[3]};
}

// Max (the first maximum, padding skipped) or average (padding as zeros).
std::vector<double> referencePool(int32_t op, const PoolCase &c, const std::vector<double> &x) {
  int64_t n = c.x[0], h = c.x[1], w = c.x[2], ch = c.x[3];
  auto ys = poolShape(c);
  std::vector<double> y;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < ys[1]; ++oy)
      for (int64_t ox = 0; ox < ys[2]; ++ox)
        for (int64_t k = 0; k < ch; ++k) {
          double best = -INFINITY, sum = 0;
          for (int64_t i = 0; i < c.size; ++i)
            for (int64_t j = 0; j < c.size; ++j) {
              int64_t iy = oy * c.stride - c.padding + i, ix = ox * c.stride - c.padding + j;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                continue;
              double v = x[static_cast<size_t>(((b * h + iy) * w + ix) * ch + k)];
              best = v > best ? v : best;
              sum += v;
            }
          y.push_back(op == DLRT_POOL_MAX ? best : sum / static_cast<double>(c.size * c.size));
        }
  return y;
}

// <f(x), g> for a tensor-valued f of x, in double.
double projected(const std::function<DlTensor *(DlTensor *)> &f, int32_t kind,
                 const std::vector<int64_t> &shape, const std::vector<double> &x,
                 const std::vector<double> &g) {
  DlTensor *xt = make(kind, shape, x);
  DlTensor *y = f(xt);
  double s = dot(valuesOf(y), g);
  dlrt_t_release(y);
  dlrt_t_release(xt);
  return s;
}

// The gradient of x -> <f(x), g> by central differences, one element at a time.
std::vector<double> finiteDifferences(const std::function<DlTensor *(DlTensor *)> &f,
                                      const std::vector<int64_t> &shape,
                                      const std::vector<double> &x, const std::vector<double> &g,
                                      double h) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    std::vector<double> plus = x, minus = x;
    plus[i] += h;
    minus[i] -= h;
    grad[i] = (projected(f, DLRT_F64, shape, plus, g) - projected(f, DLRT_F64, shape, minus, g)) /
              (2 * h);
  }
  return grad;
}

const char *kindName(int32_t kind) { return kind == DLRT_F32 ? "Float" : "Double"; }

// The instruction-set levels of tensor_conv.c's tiled kernels this CPU can
// run (4: AVX-512, 3: AVX2), then 0 (im2col for every case).
std::vector<int> convLevels() {
  dlrtSetConvLevelForTests(-1);
  std::vector<int> levels;
  for (int level : {4, 3, 0})
    if (level <= dlrtConvLevel())
      levels.push_back(level);
  return levels;
}

// Runs the convolution kernels at one level while in scope.
struct ConvLevel {
  explicit ConvLevel(int level) { dlrtSetConvLevelForTests(level); }
  ~ConvLevel() { dlrtSetConvLevelForTests(-1); }
};

} // namespace

// --- Window spans ----------------------------------------------------------------

TEST_CASE("dlrtWindowSpan and dlrtOutputSpan match the cells inside the input") {
  for (int64_t extent : {1, 2, 5, 9})
    for (int64_t size = 1; size <= 5; ++size)
      for (int64_t stride = 1; stride <= 3; ++stride)
        for (int64_t padding = 0; padding <= 4; ++padding) {
          int64_t out = (extent + 2 * padding - size) / stride + 1;
          if (extent + 2 * padding < size)
            continue;
          CAPTURE(extent);
          CAPTURE(size);
          CAPTURE(stride);
          CAPTURE(padding);
          auto inside = [&](int64_t o, int64_t k) {
            int64_t i = o * stride - padding + k;
            return i >= 0 && i < extent;
          };
          for (int64_t o = 0; o < out; ++o) {
            int64_t start, k0, k1;
            dlrtWindowSpan(o, stride, padding, size, extent, &start, &k0, &k1);
            CHECK(start == o * stride - padding);
            for (int64_t k = 0; k < size; ++k)
              CHECK(inside(o, k) == (k >= k0 && k < k1));
          }
          for (int64_t k = 0; k < size; ++k) {
            int64_t o0, o1;
            dlrtOutputSpan(k, stride, padding, extent, out, &o0, &o1);
            CHECK(o0 <= o1);
            for (int64_t o = 0; o < out; ++o)
              CHECK(inside(o, k) == (o >= o0 && o < o1));
          }
        }
}

// --- conv2d ---------------------------------------------------------------------

TEST_CASE("conv2d and its adjoints match naive loops") {
  const std::vector<ConvCase> cases = {
      {{1, 5, 5, 1}, {3, 3, 1, 1}, 1, 0},     // a window of 9 values: the direct path
      {{1, 5, 5, 2}, {3, 3, 2, 1}, 1, 0},     // O = 1: the GEMV path
      {{2, 5, 7, 3}, {3, 3, 3, 4}, 1, 1},     //
      {{2, 6, 5, 2}, {3, 2, 2, 3}, 2, 0},     // a non-square filter
      {{3, 7, 6, 4}, {5, 3, 4, 2}, 2, 2},     //
      {{2, 8, 8, 2}, {4, 4, 2, 3}, 3, 2},     //
      {{2, 4, 4, 3}, {1, 1, 3, 5}, 1, 0},     // pointwise: x is the column matrix
      {{2, 5, 5, 3}, {1, 1, 3, 2}, 2, 1},     // 1 x 1, but strided and padded
      {{1, 3, 3, 2}, {3, 3, 2, 6}, 1, 2},     // padding wider than the input's margin
      {{1, 2, 9, 1}, {2, 3, 1, 4}, 1, 0},     // one output row
      {{8, 32, 32, 16}, {3, 3, 16, 8}, 1, 1}, // several chunks (of ~4 MB), split mid-image
      {{2, 28, 28, 1}, {3, 3, 1, 32}, 1, 1},  // the first layer of a small CNN (direct)
      {{2, 9, 9, 1}, {4, 4, 1, 3}, 2, 1},     // the largest direct window (16), strided
      {{2, 7, 6, 2}, {2, 2, 2, 64}, 2, 1},    // direct, 64 channels kept in registers
      // Float: tensor_conv.c's tiled kernels at each level the CPU has, and
      // im2col (Double always takes im2col).
      {{3, 6, 5, 8}, {3, 3, 8, 16}, 1, 1},    // 1 vector; dx by im2col (8 channels)
      {{2, 7, 7, 16}, {3, 3, 16, 32}, 1, 1},  // 2 vectors; dx tiled with 1
      {{17, 5, 6, 32}, {3, 3, 32, 64}, 1, 1}, // 4 vectors; 9 filter groups, the last of 1 image
      {{2, 9, 8, 4}, {3, 3, 4, 64}, 2, 1},    // strided: dx by im2col
      {{1, 6, 6, 16}, {5, 5, 16, 128}, 1, 2}, // two blocks of 4 vectors
      {{1, 4, 4, 16}, {3, 3, 16, 16}, 1, 0},  // fewer pixels than a tile: forward by im2col
      {{2, 5, 5, 32}, {2, 2, 32, 32}, 1, 1}}; // an even filter: g unpadded for dx
  std::mt19937 rng(7);
  for (int level : convLevels())
    for (const ConvCase &c : cases)
      for (int32_t kind : {DLRT_F32, DLRT_F64}) {
        if (kind == DLRT_F64 && level != convLevels().front())
          continue; // Double takes im2col at every level
        ConvLevel scoped(level);
        CAPTURE(level);
        CAPTURE(kindName(kind));
        CAPTURE(c.x);
        CAPTURE(c.f);
        CAPTURE(c.stride);
        CAPTURE(c.padding);
        Scope s;
        auto xv = randomValues(rng, countOf(c.x));
        auto fv = randomValues(rng, countOf(c.f));
        auto gv = randomValues(rng, countOf(convShape(c)));
        if (kind == DLRT_F32) // the reference sees what the Float kernels see
          for (auto *v : {&xv, &fv, &gv})
            for (double &e : *v)
              e = static_cast<float>(e);
        DlTensor *x = s(make(kind, c.x, xv));
        DlTensor *f = s(make(kind, c.f, fv));
        DlTensor *g = s(make(kind, convShape(c), gv));
        double tolerance = kind == DLRT_F32 ? 1e-5 : 1e-13;

        DlTensor *y = s(dlrt_t_conv2d(x, f, c.stride, c.padding, L));
        CHECK(y->kind == kind);
        CHECK(shapeOf(y) == convShape(c));
        checkNear(valuesOf(y), referenceConv(c, xv, fv), tolerance);

        std::vector<double> dxWant, dfWant;
        referenceConvAdjoints(c, xv, fv, gv, dxWant, dfWant);
        DlTensor *dx = s(dlrt_t_conv2d_backward_input(g, x, f, c.stride, c.padding, L));
        DlTensor *df = s(dlrt_t_conv2d_backward_filter(g, x, f, c.stride, c.padding, L));
        CHECK(shapeOf(dx) == c.x);
        CHECK(shapeOf(df) == c.f);
        checkNear(valuesOf(dx), dxWant, tolerance);
        checkNear(valuesOf(df), dfWant, tolerance);

        // The adjoint identity <conv2d(x, f), g> = <x, dx> = <f, df>.
        double lhs = dot(valuesOf(y), gv);
        double scale = 1 + dot(valuesOf(y), valuesOf(y)) + dot(gv, gv);
        CHECK(std::fabs(dot(xv, valuesOf(dx)) - lhs) <= tolerance * scale);
        CHECK(std::fabs(dot(fv, valuesOf(df)) - lhs) <= tolerance * scale);
      }
}

TEST_CASE("conv2d adjoints against central finite differences") {
  const std::vector<ConvCase> cases = {
      {{2, 5, 4, 3}, {3, 3, 3, 2}, 1, 1},
      {{1, 6, 7, 2}, {3, 2, 2, 3}, 2, 2},
      {{2, 4, 4, 2}, {1, 1, 2, 3}, 1, 0},
      {{1, 5, 5, 1}, {2, 2, 1, 1}, 2, 0}}; // unread last row/column
  std::mt19937 rng(13);
  for (const ConvCase &c : cases) {
    CAPTURE(c.x);
    CAPTURE(c.f);
    Scope s;
    auto xv = randomValues(rng, countOf(c.x));
    auto fv = randomValues(rng, countOf(c.f));
    auto gv = randomValues(rng, countOf(convShape(c)));
    DlTensor *x = s(make(DLRT_F64, c.x, xv));
    DlTensor *f = s(make(DLRT_F64, c.f, fv));
    DlTensor *g = s(make(DLRT_F64, convShape(c), gv));
    auto dx = valuesOf(s(dlrt_t_conv2d_backward_input(g, x, f, c.stride, c.padding, L)));
    auto df = valuesOf(s(dlrt_t_conv2d_backward_filter(g, x, f, c.stride, c.padding, L)));
    auto ofX = [&](DlTensor *xt) { return dlrt_t_conv2d(xt, f, c.stride, c.padding, L); };
    auto ofF = [&](DlTensor *ft) { return dlrt_t_conv2d(x, ft, c.stride, c.padding, L); };
    checkNear(dx, finiteDifferences(ofX, c.x, xv, gv, 1e-3), 1e-8);
    checkNear(df, finiteDifferences(ofF, c.f, fv, gv, 1e-3), 1e-8);
  }
}

TEST_CASE("conv2d on empty tensors") {
  Scope s;
  // No images: an empty result, and a zero filter gradient.
  DlTensor *x0 = s(dlrt_t_full(DLRT_F32, ints({0, 5, 5, 2}), 1, L));
  DlTensor *f = s(dlrt_t_full(DLRT_F32, ints({3, 3, 2, 4}), 1, L));
  DlTensor *y0 = s(dlrt_t_conv2d(x0, f, 1, 0, L));
  CHECK(shapeOf(y0) == std::vector<int64_t>{0, 3, 3, 4});
  CHECK(shapeOf(s(dlrt_t_conv2d_backward_input(y0, x0, f, 1, 0, L))) ==
        std::vector<int64_t>{0, 5, 5, 2});
  DlTensor *df0 = s(dlrt_t_conv2d_backward_filter(y0, x0, f, 1, 0, L));
  CHECK(shapeOf(df0) == std::vector<int64_t>{3, 3, 2, 4});
  CHECK(valuesOf(df0) == std::vector<double>(72, 0.0));
  // No channels: every window sums nothing.
  DlTensor *xc = s(dlrt_t_full(DLRT_F64, ints({1, 4, 4, 0}), 0, L));
  DlTensor *fc = s(dlrt_t_full(DLRT_F64, ints({3, 3, 0, 2}), 0, L));
  DlTensor *yc = s(dlrt_t_conv2d(xc, fc, 1, 0, L));
  CHECK(shapeOf(yc) == std::vector<int64_t>{1, 2, 2, 2});
  CHECK(valuesOf(yc) == std::vector<double>(8, 0.0));
  DlTensor *gc = s(dlrt_t_full(DLRT_F64, ints({1, 2, 2, 2}), 1, L));
  CHECK(shapeOf(s(dlrt_t_conv2d_backward_input(gc, xc, fc, 1, 0, L))) ==
        std::vector<int64_t>{1, 4, 4, 0});
  CHECK(shapeOf(s(dlrt_t_conv2d_backward_filter(gc, xc, fc, 1, 0, L))) ==
        std::vector<int64_t>{3, 3, 0, 2});
  // No output channels: nothing reads x.
  DlTensor *x = s(dlrt_t_full(DLRT_F32, ints({1, 3, 3, 2}), 1, L));
  DlTensor *fo = s(dlrt_t_full(DLRT_F32, ints({2, 2, 2, 0}), 1, L));
  DlTensor *go = s(dlrt_t_conv2d(x, fo, 1, 0, L));
  CHECK(shapeOf(go) == std::vector<int64_t>{1, 2, 2, 0});
  CHECK(valuesOf(s(dlrt_t_conv2d_backward_input(go, x, fo, 1, 0, L))) ==
        std::vector<double>(18, 0.0));
}

// --- Pooling ----------------------------------------------------------------------

const std::vector<PoolCase> kPoolCases = {{{2, 6, 6, 3}, 2, 2, 0}, // the usual 2 x 2 / 2
                                          {{1, 7, 5, 2}, 3, 2, 1}, //
                                          {{2, 5, 5, 4}, 3, 1, 1}, // overlapping windows
                                          {{1, 4, 6, 1}, 2, 1, 1}, //
                                          {{3, 8, 7, 2}, 4, 3, 2}, //
                                          {{1, 5, 5, 3}, 1, 2, 0}, // 1 x 1 windows skipping cells
                                          {{2, 28, 28, 32}, 2, 2, 0}};

TEST_CASE("pool2d matches naive loops") {
  std::mt19937 rng(17);
  for (const PoolCase &c : kPoolCases)
    for (int32_t op : {DLRT_POOL_MAX, DLRT_POOL_AVG})
      for (int32_t kind : {DLRT_F32, DLRT_F64}) {
        CAPTURE(kindName(kind));
        CAPTURE(op);
        CAPTURE(c.x);
        Scope s;
        auto xv = randomValues(rng, countOf(c.x));
        if (kind == DLRT_F32)
          for (double &e : xv)
            e = static_cast<float>(e);
        DlTensor *x = s(make(kind, c.x, xv));
        DlTensor *y = s(dlrt_t_pool2d(op, x, c.size, c.stride, c.padding, L));
        CHECK(y->kind == kind);
        CHECK(shapeOf(y) == poolShape(c));
        if (op == DLRT_POOL_MAX)
          CHECK(valuesOf(y) == referencePool(op, c, xv)); // a selection: exact
        else
          checkNear(valuesOf(y), referencePool(op, c, xv), kind == DLRT_F32 ? 1e-6 : 1e-15);
      }
}

TEST_CASE("pool2d backward: finite differences and the adjoint identity") {
  std::mt19937 rng(19);
  for (const PoolCase &c : kPoolCases)
    for (int32_t op : {DLRT_POOL_MAX, DLRT_POOL_AVG}) {
      CAPTURE(op);
      CAPTURE(c.x);
      Scope s;
      auto xv = distinctValues(rng, countOf(c.x));
      auto gv = randomValues(rng, countOf(poolShape(c)));
      DlTensor *x = s(make(DLRT_F64, c.x, xv));
      DlTensor *g = s(make(DLRT_F64, poolShape(c), gv));
      DlTensor *dx = s(dlrt_t_pool2d_backward(op, g, x, c.size, c.stride, c.padding, L));
      CHECK(shapeOf(dx) == c.x);
      if (countOf(c.x) <= 400) { // one pass per element
        auto of = [&](DlTensor *xt) {
          return dlrt_t_pool2d(op, xt, c.size, c.stride, c.padding, L);
        };
        checkNear(valuesOf(dx), finiteDifferences(of, c.x, xv, gv, 1e-4), 1e-9);
      }
      // Both poolings are linear along the selection they make:
      // <pool2d(x), g> = <x, pool2d_backward(g)>, in each kind.
      for (int32_t kind : {DLRT_F32, DLRT_F64}) {
        DlTensor *xk = s(make(kind, c.x, xv));
        DlTensor *gk = s(make(kind, poolShape(c), gv));
        DlTensor *yk = s(dlrt_t_pool2d(op, xk, c.size, c.stride, c.padding, L));
        DlTensor *dxk = s(dlrt_t_pool2d_backward(op, gk, xk, c.size, c.stride, c.padding, L));
        double lhs = dot(valuesOf(yk), valuesOf(gk)), rhs = dot(valuesOf(xk), valuesOf(dxk));
        CHECK(std::fabs(lhs - rhs) <= (kind == DLRT_F32 ? 1e-4 : 1e-12) * (1 + std::fabs(lhs)));
      }
    }
}

TEST_CASE("max pooling: ties, padding and NaN") {
  Scope s;
  // Equal values: the first one in row-major window order takes the gradient.
  DlTensor *flat = s(dlrt_t_full(DLRT_F32, ints({1, 2, 2, 1}), 1, L));
  DlTensor *one = s(dlrt_t_full(DLRT_F32, ints({1, 1, 1, 1}), 1, L));
  CHECK(valuesOf(s(dlrt_t_pool2d_backward(DLRT_POOL_MAX, one, flat, 2, 2, 0, L))) ==
        std::vector<double>{1, 0, 0, 0});
  // Overlapping windows of ties, with two channels of different patterns:
  // channel 0 = [[1, 5, 5], [5, 2, 5], [0, 5, 1]], channel 1 = 7 everywhere.
  std::vector<double> ch0 = {1, 5, 5, 5, 2, 5, 0, 5, 1}, xv;
  for (double v : ch0) {
    xv.push_back(v);
    xv.push_back(7);
  }
  DlTensor *x = s(make(DLRT_F64, {1, 3, 3, 2}, xv));
  DlTensor *g = s(dlrt_t_full(DLRT_F64, ints({1, 2, 2, 2}), 1, L));
  CHECK(valuesOf(s(dlrt_t_pool2d(DLRT_POOL_MAX, x, 2, 1, 0, L))) ==
        std::vector<double>{5, 7, 5, 7, 5, 7, 5, 7});
  // Channel 0's windows pick (0, 1), (0, 1), (1, 0), (1, 2); channel 1's
  // pick each window's top-left cell.
  std::vector<double> dx0 = {0, 2, 0, 1, 0, 1, 0, 0, 0}, dx1 = {1, 1, 0, 1, 1, 0, 0, 0, 0};
  std::vector<double> want;
  for (size_t i = 0; i < 9; ++i) {
    want.push_back(dx0[i]);
    want.push_back(dx1[i]);
  }
  CHECK(valuesOf(s(dlrt_t_pool2d_backward(DLRT_POOL_MAX, g, x, 2, 1, 0, L))) == want);
  std::vector<double> tangentIn(18);
  for (size_t i = 0; i < 18; ++i)
    tangentIn[i] = static_cast<double>(i);
  DlTensor *dx = s(make(DLRT_F64, {1, 3, 3, 2}, tangentIn));
  CHECK(valuesOf(s(dlrt_t_max_pool2d_tangent(dx, x, 2, 1, 0, L))) ==
        std::vector<double>{2, 1, 2, 3, 6, 7, 10, 9});

  // Padded cells never win, even over negative values (each 2 x 2 window
  // below holds one input cell and three padded ones); average pooling
  // counts them as zeros.
  DlTensor *neg = s(make(DLRT_F32, {1, 2, 2, 1}, {-5, -6, -7, -8}));
  CHECK(valuesOf(s(dlrt_t_pool2d(DLRT_POOL_MAX, neg, 2, 2, 1, L))) ==
        std::vector<double>{-5, -6, -7, -8});
  CHECK(valuesOf(s(dlrt_t_pool2d(DLRT_POOL_AVG, neg, 2, 2, 1, L))) ==
        std::vector<double>{-1.25, -1.5, -1.75, -2});
  DlTensor *g4 = s(make(DLRT_F32, {1, 2, 2, 1}, {1, 2, 3, 4}));
  CHECK(valuesOf(s(dlrt_t_pool2d_backward(DLRT_POOL_MAX, g4, neg, 2, 2, 1, L))) ==
        std::vector<double>{1, 2, 3, 4});
  CHECK(valuesOf(s(dlrt_t_pool2d_backward(DLRT_POOL_AVG, g4, neg, 2, 2, 1, L))) ==
        std::vector<double>{0.25, 0.5, 0.75, 1});

  // A NaN is the maximum (the first of several), as in max reductions.
  DlTensor *nan = s(make(DLRT_F64, {1, 2, 2, 1}, {1, NAN, 3, NAN}));
  CHECK(std::isnan(valuesOf(s(dlrt_t_pool2d(DLRT_POOL_MAX, nan, 2, 2, 0, L)))[0]));
  DlTensor *g1 = s(dlrt_t_full(DLRT_F64, ints({1, 1, 1, 1}), 1, L));
  CHECK(valuesOf(s(dlrt_t_pool2d_backward(DLRT_POOL_MAX, g1, nan, 2, 2, 0, L))) ==
        std::vector<double>{0, 1, 0, 0});
  // A window of padding alone (an input with no rows) is -infinity, and
  // sends its gradient nowhere.
  DlTensor *none = s(dlrt_t_full(DLRT_F64, ints({1, 0, 0, 1}), 0, L));
  DlTensor *empty = s(dlrt_t_pool2d(DLRT_POOL_MAX, none, 2, 1, 1, L));
  CHECK(shapeOf(empty) == std::vector<int64_t>{1, 1, 1, 1});
  CHECK(valuesOf(empty) == std::vector<double>{-INFINITY});
  CHECK(shapeOf(s(dlrt_t_pool2d_backward(DLRT_POOL_MAX, g1, none, 2, 1, 1, L))) ==
        std::vector<int64_t>{1, 0, 0, 1});
  CHECK(valuesOf(s(dlrt_t_max_pool2d_tangent(none, none, 2, 1, 1, L))) == std::vector<double>{0});
}

TEST_CASE("max pooling tangent against finite differences of pool2d") {
  std::mt19937 rng(23);
  for (const PoolCase &c : kPoolCases) {
    CAPTURE(c.x);
    Scope s;
    auto xv = distinctValues(rng, countOf(c.x));
    auto dv = randomValues(rng, countOf(c.x));
    DlTensor *x = s(make(DLRT_F64, c.x, xv));
    DlTensor *d = s(make(DLRT_F64, c.x, dv));
    DlTensor *t = s(dlrt_t_max_pool2d_tangent(d, x, c.size, c.stride, c.padding, L));
    CHECK(shapeOf(t) == poolShape(c));
    const double h = 1e-4;
    std::vector<double> plus(xv.size()), minus(xv.size());
    for (size_t i = 0; i < xv.size(); ++i) {
      plus[i] = xv[i] + h * dv[i];
      minus[i] = xv[i] - h * dv[i];
    }
    auto yPlus = referencePool(DLRT_POOL_MAX, c, plus);
    auto yPlusRuntime = valuesOf(s(dlrt_t_pool2d(DLRT_POOL_MAX, s(make(DLRT_F64, c.x, plus)),
                                                 c.size, c.stride, c.padding, L)));
    CHECK(yPlusRuntime == yPlus);
    auto yMinus = valuesOf(s(dlrt_t_pool2d(DLRT_POOL_MAX, s(make(DLRT_F64, c.x, minus)), c.size,
                                           c.stride, c.padding, L)));
    std::vector<double> fd(yPlus.size());
    for (size_t i = 0; i < fd.size(); ++i)
      fd[i] = (yPlus[i] - yMinus[i]) / (2 * h);
    checkNear(valuesOf(t), fd, 1e-9);
    // Float reads the same cells.
    DlTensor *tf = s(dlrt_t_max_pool2d_tangent(
        s(make(DLRT_F32, c.x, dv)), s(make(DLRT_F32, c.x, xv)), c.size, c.stride, c.padding, L));
    auto got = valuesOf(tf), want = valuesOf(t);
    for (double &w : want)
      w = static_cast<float>(w);
    CHECK(got == want);
  }
}

// --- Zero tangents and errors ----------------------------------------------------------

TEST_CASE("NN operations: zero tangents (NULL)") {
  Scope s;
  DlTensor *x = s(dlrt_t_full(DLRT_F32, ints({1, 4, 4, 2}), 1, L));
  DlTensor *f = s(dlrt_t_full(DLRT_F32, ints({3, 3, 2, 3}), 1, L));
  CHECK(dlrt_t_conv2d(nullptr, f, 1, 0, L) == nullptr);
  CHECK(dlrt_t_conv2d(x, nullptr, 1, 0, L) == nullptr);
  CHECK(dlrt_t_conv2d_backward_input(nullptr, x, f, 1, 0, L) == nullptr);
  CHECK(dlrt_t_conv2d_backward_filter(nullptr, x, f, 1, 0, L) == nullptr);
  CHECK(dlrt_t_pool2d(DLRT_POOL_MAX, nullptr, 2, 2, 0, L) == nullptr);
  CHECK(dlrt_t_pool2d(DLRT_POOL_AVG, nullptr, 2, 2, 0, L) == nullptr);
  CHECK(dlrt_t_pool2d_backward(DLRT_POOL_MAX, nullptr, x, 2, 2, 0, L) == nullptr);
  CHECK(dlrt_t_pool2d_backward(DLRT_POOL_AVG, nullptr, x, 2, 2, 0, L) == nullptr);
  CHECK(dlrt_t_max_pool2d_tangent(nullptr, x, 2, 2, 0, L) == nullptr);

  checkFailure(
      [] {
        DlTensor *g = dlrt_t_full(DLRT_F32, ints({1, 2, 2, 3}), 1, L);
        dlrt_t_conv2d_backward_input(g, nullptr, dlrt_t_full(DLRT_F32, ints({3, 3, 2, 3}), 1, L), 1,
                                     0, L);
      },
      "internal error: zero tangent passed to 'conv2d_backward_input'");
  checkFailure(
      [] {
        DlTensor *g = dlrt_t_full(DLRT_F32, ints({1, 2, 2, 3}), 1, L);
        dlrt_t_conv2d_backward_filter(g, dlrt_t_full(DLRT_F32, ints({1, 4, 4, 2}), 1, L), nullptr,
                                      1, 0, L);
      },
      "internal error: zero tangent passed to 'conv2d_backward_filter'");
  checkFailure(
      [] {
        dlrt_t_pool2d_backward(DLRT_POOL_AVG, dlrt_t_full(DLRT_F32, ints({1, 2, 2, 1}), 1, L),
                               nullptr, 2, 2, 0, L);
      },
      "internal error: zero tangent passed to 'avgPool2d_backward'");
  checkFailure(
      [] {
        dlrt_t_max_pool2d_tangent(dlrt_t_full(DLRT_F32, ints({1, 2, 2, 1}), 1, L), nullptr, 2, 2, 0,
                                  L);
      },
      "internal error: zero tangent passed to 'maxPool2d_tangent'");
}

namespace {
DlTensor *zeros(int32_t kind, const std::vector<int64_t> &shape) {
  return dlrt_t_full(kind, ints(shape), 0, L);
}
} // namespace

TEST_CASE("conv2d runtime errors") {
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_I64, {1, 3, 3, 1}), zeros(DLRT_I64, {2, 2, 1, 1}), 1, 0, L);
      },
      "'conv2d' is not defined for Tensor<Int>");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_BOOL, {1, 3, 3, 1}), zeros(DLRT_BOOL, {2, 2, 1, 1}), 1, 0, L);
      },
      "'conv2d' is not defined for Tensor<Bool>");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 3, 3, 1}), zeros(DLRT_F64, {2, 2, 1, 1}), 1, 0, L);
      },
      "internal error: element kinds differ in 'conv2d': Tensor<Float> vs Tensor<Double>");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {3, 4}), zeros(DLRT_F32, {2, 2, 1, 1}), 1, 0, L);
      },
      "conv2d expects a rank-4 input [N, H, W, C], got [3, 4]");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 3, 3, 1}), zeros(DLRT_F32, {3, 3, 1}), 1, 0, L);
      },
      "conv2d expects a rank-4 filter [KH, KW, C, O], got [3, 3, 1]");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 4, 4, 3}), zeros(DLRT_F32, {3, 3, 2, 1}), 1, 0, L);
      },
      "shape mismatch in 'conv2d': input has 3 channels, filter expects 2");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F64, {1, 4, 4, 1}), zeros(DLRT_F64, {3, 3, 2, 1}), 1, 0, L);
      },
      "shape mismatch in 'conv2d': input has 1 channel, filter expects 2");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 4, 4, 1}), zeros(DLRT_F32, {3, 3, 1, 1}), 0, 0, L);
      },
      "conv2d: stride must be at least 1, got 0");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 4, 4, 1}), zeros(DLRT_F32, {3, 3, 1, 1}), -2, 0, L);
      },
      "conv2d: stride must be at least 1, got -2");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 4, 4, 1}), zeros(DLRT_F32, {3, 3, 1, 1}), 1, -1, L);
      },
      "conv2d: padding must not be negative");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 4, 4, 1}), zeros(DLRT_F32, {3, 3, 1, 1}), 1, 2000000000,
                      L);
      },
      "conv2d: padding 2000000000 is too large");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {1, 3, 3, 1}), zeros(DLRT_F32, {5, 5, 1, 8}), 1, 0, L);
      },
      "conv2d: the filter [5, 5, 1, 8] is larger than the padded input [1, 3, 3, 1]");
  checkFailure(
      [] {
        dlrt_t_conv2d(zeros(DLRT_F32, {2, 3, 4, 1}), zeros(DLRT_F32, {2, 7, 1, 1}), 2, 1, L);
      },
      "conv2d: the filter [2, 7, 1, 1] is larger than the padded input [2, 5, 6, 1]");

  // The adjoints check the forward operands too, and the cotangent's shape and kind.
  checkFailure(
      [] {
        dlrt_t_conv2d_backward_input(zeros(DLRT_F32, {2, 2, 2, 4}), zeros(DLRT_F32, {2, 4, 4, 3}),
                                     zeros(DLRT_F32, {3, 3, 3, 4}), 0, 0, L);
      },
      "conv2d: stride must be at least 1, got 0");
  checkFailure(
      [] {
        dlrt_t_conv2d_backward_input(zeros(DLRT_F32, {2, 3, 3, 4}), zeros(DLRT_F32, {2, 4, 4, 3}),
                                     zeros(DLRT_F32, {3, 3, 3, 4}), 1, 0, L);
      },
      "shape mismatch in 'conv2d_backward_input': [2, 3, 3, 4] vs [2, 2, 2, 4]");
  checkFailure(
      [] {
        dlrt_t_conv2d_backward_filter(zeros(DLRT_F32, {2, 2, 2}), zeros(DLRT_F32, {2, 4, 4, 3}),
                                      zeros(DLRT_F32, {3, 3, 3, 4}), 1, 0, L);
      },
      "shape mismatch in 'conv2d_backward_filter': [2, 2, 2] vs [2, 2, 2, 4]");
  checkFailure(
      [] {
        dlrt_t_conv2d_backward_filter(zeros(DLRT_F64, {2, 2, 2, 4}), zeros(DLRT_F32, {2, 4, 4, 3}),
                                      zeros(DLRT_F32, {3, 3, 3, 4}), 1, 0, L);
      },
      "internal error: element kinds differ in 'conv2d_backward_filter': Tensor<Float> vs "
      "Tensor<Double>");
}

TEST_CASE("pooling runtime errors") {
  checkFailure(
      [] {
        dlrt_t_pool2d(7, zeros(DLRT_F32, {1, 4, 4, 1}), 2, 2, 0, L);
      },
      "internal error: unknown pooling operation 7");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_MAX, zeros(DLRT_I64, {1, 4, 4, 1}), 2, 2, 0, L);
      },
      "'maxPool2d' is not defined for Tensor<Int>");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_AVG, zeros(DLRT_BOOL, {1, 4, 4, 1}), 2, 2, 0, L);
      },
      "'avgPool2d' is not defined for Tensor<Bool>");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_MAX, zeros(DLRT_F32, {2, 2, 2}), 2, 2, 0, L);
      },
      "maxPool2d expects a rank-4 input [N, H, W, C], got [2, 2, 2]");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_MAX, zeros(DLRT_F32, {1, 4, 4, 1}), 0, 2, 0, L);
      },
      "maxPool2d: size must be at least 1, got 0");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_AVG, zeros(DLRT_F32, {1, 4, 4, 1}), 2, 0, 0, L);
      },
      "avgPool2d: stride must be at least 1, got 0");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_MAX, zeros(DLRT_F64, {1, 4, 4, 1}), 2, 2, -1, L);
      },
      "maxPool2d: padding must not be negative");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_MAX, zeros(DLRT_F64, {1, 4, 4, 1}), 3, 1, 2, L);
      },
      "maxPool2d: padding must be at most half the window size, got padding 2 for "
      "size 3");
  checkFailure(
      [] {
        dlrt_t_pool2d(DLRT_POOL_AVG, zeros(DLRT_F32, {1, 2, 2, 1}), 3, 1, 0, L);
      },
      "avgPool2d: the window 3 x 3 is larger than the padded input [1, 2, 2, 1]");
  checkFailure(
      [] {
        dlrt_t_pool2d_backward(DLRT_POOL_MAX, zeros(DLRT_F32, {1, 2, 2, 2}),
                               zeros(DLRT_F32, {1, 4, 4, 1}), 2, 2, 0, L);
      },
      "shape mismatch in 'maxPool2d_backward': [1, 2, 2, 2] vs [1, 2, 2, 1]");
  checkFailure(
      [] {
        dlrt_t_pool2d_backward(DLRT_POOL_AVG, zeros(DLRT_F64, {1, 2, 2, 1}),
                               zeros(DLRT_F32, {1, 4, 4, 1}), 2, 2, 0, L);
      },
      "internal error: element kinds differ in 'avgPool2d_backward': Tensor<Float> vs "
      "Tensor<Double>");
  checkFailure(
      [] {
        dlrt_t_pool2d_backward(DLRT_POOL_AVG, zeros(DLRT_F32, {1, 2, 2, 1}),
                               zeros(DLRT_F32, {1, 4, 4, 1}), 2, 2, 1, L);
      },
      "shape mismatch in 'avgPool2d_backward': [1, 2, 2, 1] vs [1, 3, 3, 1]");
  checkFailure(
      [] {
        dlrt_t_max_pool2d_tangent(zeros(DLRT_F32, {1, 2, 2, 1}), zeros(DLRT_F32, {1, 4, 4, 1}), 2,
                                  2, 0, L);
      },
      "shape mismatch in 'maxPool2d_tangent': [1, 2, 2, 1] vs [1, 4, 4, 1]");
  checkFailure(
      [] {
        dlrt_t_max_pool2d_tangent(zeros(DLRT_F32, {1, 4, 4, 1}), zeros(DLRT_F32, {1, 4, 4, 1}), 5,
                                  2, 0, L);
      },
      "maxPool2d: the window 5 x 5 is larger than the padded input [1, 4, 4, 1]");
}
