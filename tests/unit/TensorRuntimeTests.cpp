// Unit tests for the tensor half of the runtime (runtime/tensor*.c): creation,
// elementwise operations with broadcasting, reductions, broadcast adjoints,
// matmul and transpose, reshape, indexing, the RNG, ownership and the buffer
// cache, and printing. Results are checked against naive reference code and
// <cmath> in double; runtime errors and printed text come from a forked child.
#include "runtime/dlrt.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"
#include "tests/unit/TensorScope.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

constexpr const char *L = dlc::testing::kTestLoc;

// --- Forked child runs (as in RuntimeTests.cpp) ------------------------------

using dlc::testing::ChildResult;
using dlc::testing::runInChild;

using dlc::testing::checkFailure;

std::string printed(const DlTensor *t) {
  ChildResult r = runInChild([t] {
    dlrt_print_tensor(t);
    std::fflush(stdout);
    _exit(0);
  });
  CHECK(r.exitStatus == 0);
  return r.out;
}

// --- Building and reading tensors ---------------------------------------------

template <class T> T *elementsOf(DlArray *a) {
  return reinterpret_cast<T *>(reinterpret_cast<char *>(a) + DLRT_ARRAY_HEADER_SIZE);
}

template <class T> DlArray *leafArray(const std::vector<T> &v) {
  DlArray *a = dlrt_array_new(sizeof(T), static_cast<int64_t>(v.size()));
  if (!v.empty())
    std::memcpy(elementsOf<T>(a), v.data(), v.size() * sizeof(T));
  return a;
}

DlArray *ints(const std::vector<int64_t> &v) { return leafArray(v); }

DlArray *nested(const std::vector<DlArray *> &v) { return leafArray(v); }

// Element kinds by C++ type; uint8_t stands for Bool.
template <class T> constexpr int32_t kindOf() {
  if constexpr (std::is_same_v<T, float>)
    return DLRT_F32;
  else if constexpr (std::is_same_v<T, double>)
    return DLRT_F64;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DLRT_I64;
  else
    return DLRT_BOOL;
}

template <class T> DlTensor *make(const std::vector<int64_t> &shape, const std::vector<T> &values) {
  DlTensor *t = dlrt_t_full(kindOf<T>(), ints(shape), 0, L);
  REQUIRE(t->count == static_cast<int64_t>(values.size()));
  if (!values.empty())
    std::memcpy(t->data, values.data(), values.size() * sizeof(T));
  return t;
}

template <class T> std::vector<T> valuesOf(const DlTensor *t) {
  REQUIRE(t != nullptr);
  REQUIRE(t->kind == kindOf<T>());
  const T *p = static_cast<const T *>(t->data);
  return std::vector<T>(p, p + t->count);
}

std::vector<int64_t> shapeOf(const DlTensor *t) {
  REQUIRE(t != nullptr);
  return std::vector<int64_t>(t->shape, t->shape + t->rank);
}

int64_t countOf(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

template <class T> std::vector<T> randomValues(std::mt19937 &rng, int64_t n) {
  std::uniform_real_distribution<double> dist(-2, 2);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto &x : v)
    x = static_cast<T>(dist(rng));
  return v;
}

using Scope = dlc::testing::TensorScope;

// --- Reference computations ---------------------------------------------------

// NumPy broadcasting in plain index arithmetic.
std::vector<int64_t> broadcastShape(std::vector<int64_t> a, std::vector<int64_t> b) {
  size_t r = std::max(a.size(), b.size());
  a.insert(a.begin(), r - a.size(), 1);
  b.insert(b.begin(), r - b.size(), 1);
  std::vector<int64_t> out(r);
  for (size_t i = 0; i < r; ++i)
    out[i] = a[i] == 1 ? b[i] : a[i];
  return out;
}

// The flat index into an operand of shape `s` for the output multi-index.
int64_t operandIndex(const std::vector<int64_t> &s, const std::vector<int64_t> &outIndex) {
  size_t lead = outIndex.size() - s.size();
  int64_t flat = 0;
  for (size_t i = 0; i < s.size(); ++i)
    flat = flat * s[i] + (s[i] == 1 ? 0 : outIndex[lead + i]);
  return flat;
}

std::vector<int64_t> unflatten(int64_t flat, const std::vector<int64_t> &shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    index[i] = flat % shape[i];
    flat /= shape[i];
  }
  return index;
}

template <class T, class R>
std::vector<R> referenceBinary(const std::vector<int64_t> &sa, const std::vector<T> &a,
                               const std::vector<int64_t> &sb, const std::vector<T> &b,
                               const std::function<R(T, T)> &f) {
  std::vector<int64_t> so = broadcastShape(sa, sb);
  std::vector<R> out(static_cast<size_t>(countOf(so)));
  for (int64_t i = 0; i < countOf(so); ++i) {
    auto index = unflatten(i, so);
    out[i] = f(a[operandIndex(sa, index)], b[operandIndex(sb, index)]);
  }
  return out;
}

// C = op(A) op(B) for one matrix each, in double.
std::vector<double> referenceMatmul(const std::vector<double> &a, const std::vector<double> &b,
                                    int64_t m, int64_t n, int64_t k, bool ta, bool tb) {
  std::vector<double> c(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      c[i * n + j] = s;
    }
  return c;
}

template <class T>
void checkClose(const std::vector<T> &got, const std::vector<double> &want, double tolerance) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::fabs(static_cast<double>(got[i]) - want[i]) <=
                      tolerance * (1 + std::fabs(want[i])),
                  "element " << i << ": " << static_cast<double>(got[i]) << " vs " << want[i]);
}

} // namespace

// --- Creation and queries -----------------------------------------------------

TEST_CASE("tensor creation: full, scalar, arange, queries") {
  Scope s;
  DlTensor *t = s(dlrt_t_full(DLRT_F32, ints({2, 3}), 1.5, L));
  CHECK(t->refcount == 1);
  CHECK(t->kind == DLRT_F32);
  CHECK(t->rank == 2);
  CHECK(t->count == 6);
  CHECK(reinterpret_cast<uintptr_t>(t->data) % 64 == 0);
  CHECK(valuesOf<float>(t) == std::vector<float>(6, 1.5f));
  DlArray *shape = dlrt_t_shape(t);
  CHECK(shape->count == 2);
  CHECK(elementsOf<int64_t>(shape)[0] == 2);
  CHECK(elementsOf<int64_t>(shape)[1] == 3);
  CHECK(dlrt_t_rank(t) == 2);
  CHECK(dlrt_t_count(t) == 6);

  DlTensor *sc = s(dlrt_t_scalar(DLRT_F64, -2.25));
  CHECK(sc->rank == 0);
  CHECK(sc->count == 1);
  CHECK(dlrt_t_shape(sc)->count == 0);
  CHECK(dlrt_t_item_f64(sc, L) == -2.25);
  CHECK(dlrt_t_item_i64(sc, L) == -2);
  CHECK(dlrt_t_item_i64(s(dlrt_t_scalar(DLRT_BOOL, 3)), L) == 1);
  CHECK(dlrt_t_item_f64(s(dlrt_t_full(DLRT_I64, ints({1, 1}), 7.9, L)), L) == 7.0);

  CHECK(valuesOf<int64_t>(s(dlrt_t_arange(DLRT_I64, 4, L))) == std::vector<int64_t>{0, 1, 2, 3});
  CHECK(valuesOf<float>(s(dlrt_t_arange(DLRT_F32, 3, L))) == std::vector<float>{0, 1, 2});
  CHECK(valuesOf<double>(s(dlrt_t_arange(DLRT_F64, 2, L))) == std::vector<double>{0, 1});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_full(DLRT_BOOL, ints({3}), 1, L))) ==
        std::vector<uint8_t>{1, 1, 1});
  DlTensor *empty = s(dlrt_t_full(DLRT_F32, ints({0, 5}), 1, L));
  CHECK(empty->count == 0);
  CHECK(shapeOf(empty) == std::vector<int64_t>{0, 5});
  CHECK(s(dlrt_t_arange(DLRT_F64, 0, L))->count == 0);
  CHECK(s(dlrt_t_full(DLRT_F32, ints({}), 4, L))->rank == 0);
}

TEST_CASE("tensor creation errors") {
  checkFailure(
      [] {
        dlrt_t_full(DLRT_F32, ints({2, -1}), 0, L);
      },
      "negative dimension in shape [2, -1]");
  checkFailure(
      [] {
        dlrt_t_randn(DLRT_F32, ints({1, 1, 1, 1, 1, 1, 1, 1, 1}), L);
      },
      "tensors have at most 8 axes; cannot create one of rank 9");
  checkFailure([] { dlrt_t_arange(DLRT_I64, -3, L); }, "arange of a negative count (-3)");
  checkFailure(
      [] {
        dlrt_t_item_f64(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L), L);
      },
      "item() needs a tensor with exactly one element, not one of shape [2, 3]");
}

TEST_CASE("from_array: nested arrays of each kind") {
  Scope s;
  DlTensor *f = s(dlrt_t_from_array(DLRT_F32, leafArray<float>({1.5f, -2, 3}), 1, L));
  CHECK(shapeOf(f) == std::vector<int64_t>{3});
  CHECK(valuesOf<float>(f) == std::vector<float>{1.5f, -2, 3});

  DlArray *rows = nested({leafArray<double>({1, 2, 3}), leafArray<double>({4, 5, 6})});
  DlTensor *d = s(dlrt_t_from_array(DLRT_F64, rows, 2, L));
  CHECK(shapeOf(d) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<double>(d) == std::vector<double>{1, 2, 3, 4, 5, 6});

  DlArray *cube = nested({nested({leafArray<int64_t>({1, 2}), leafArray<int64_t>({3, 4})}),
                          nested({leafArray<int64_t>({5, 6}), leafArray<int64_t>({7, 8})})});
  DlTensor *i = s(dlrt_t_from_array(DLRT_I64, cube, 3, L));
  CHECK(shapeOf(i) == std::vector<int64_t>{2, 2, 2});
  CHECK(valuesOf<int64_t>(i) == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8});

  DlTensor *b = s(dlrt_t_from_array(DLRT_BOOL, leafArray<uint8_t>({1, 0, 1}), 1, L));
  CHECK(valuesOf<uint8_t>(b) == std::vector<uint8_t>{1, 0, 1});

  // Empty levels give dimension 0 there and below.
  CHECK(shapeOf(s(dlrt_t_from_array(DLRT_F32, nested({leafArray<float>({})}), 2, L))) ==
        std::vector<int64_t>{1, 0});
  CHECK(shapeOf(s(dlrt_t_from_array(DLRT_F32, nested({}), 2, L))) == std::vector<int64_t>{0, 0});
}

TEST_CASE("from_array: ragged arrays fail") {
  checkFailure(
      [] {
        DlArray *a = nested({leafArray<float>({1, 2}), leafArray<float>({3})});
        dlrt_t_from_array(DLRT_F32, a, 2, L);
      },
      "ragged nested array: expected 2 elements at depth 1, found 1");
  checkFailure(
      [] {
        DlArray *a = nested({nested({leafArray<float>({1})}),
                             nested({leafArray<float>({2}), leafArray<float>({3})})});
        dlrt_t_from_array(DLRT_F32, a, 3, L);
      },
      "ragged nested array: expected 1 elements at depth 1, found 2");
}

// --- Elementwise ------------------------------------------------------------------

TEST_CASE("binary arithmetic on same shapes") {
  Scope s;
  DlTensor *a = s(make<float>({2, 2}, {1, -2, 3, 0.5f}));
  DlTensor *b = s(make<float>({2, 2}, {4, 5, -6, 2}));
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_ADD, a, b, L))) == std::vector<float>{5, 3, -3, 2.5f});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_SUB, a, b, L))) ==
        std::vector<float>{-3, -7, 9, -1.5f});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_MUL, a, b, L))) == std::vector<float>{4, -10, -18, 1});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_DIV, a, b, L))) ==
        std::vector<float>{0.25f, -0.4f, -0.5f, 0.25f});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_MIN, a, b, L))) ==
        std::vector<float>{1, -2, -6, 0.5f});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_MAX, a, b, L))) == std::vector<float>{4, 5, 3, 2});
  auto pw = valuesOf<float>(s(dlrt_t_binary(DLRT_POW, a, b, L)));
  CHECK(pw[0] == 1);
  CHECK(pw[1] == -32);
  CHECK(pw[2] == doctest::Approx(std::pow(3.0, -6.0)).epsilon(1e-6));
  CHECK(pw[3] == 0.25f);

  DlTensor *x = s(make<double>({3}, {2, NAN, 1}));
  DlTensor *y = s(make<double>({3}, {NAN, 1, 0}));
  auto mx = valuesOf<double>(s(dlrt_t_binary(DLRT_MAX, x, y, L)));
  CHECK(std::isnan(mx[0])); // NaN propagates from either side
  CHECK(std::isnan(mx[1]));
  CHECK(mx[2] == 1);
  CHECK(valuesOf<double>(s(dlrt_t_binary(DLRT_DIV, x, y, L)))[2] == INFINITY);
}

TEST_CASE("binary Int operations and division") {
  Scope s;
  DlTensor *a = s(make<int64_t>({4}, {7, -7, 9, INT64_MIN}));
  DlTensor *b = s(make<int64_t>({4}, {2, 2, -3, -1}));
  CHECK(valuesOf<int64_t>(s(dlrt_t_binary(DLRT_DIV, a, b, L))) ==
        std::vector<int64_t>{3, -3, -3, INT64_MIN}); // truncates; MIN / -1 wraps
  CHECK(valuesOf<int64_t>(s(dlrt_t_binary(DLRT_ADD, a, b, L))) ==
        std::vector<int64_t>{9, -5, 6, INT64_MAX});
  CHECK(valuesOf<int64_t>(s(dlrt_t_binary(DLRT_MUL, a, b, L))) ==
        std::vector<int64_t>{14, -14, -27, INT64_MIN});
  CHECK(valuesOf<int64_t>(s(dlrt_t_binary(DLRT_MIN, a, b, L))) ==
        std::vector<int64_t>{2, -7, -3, INT64_MIN});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_GT, a, b, L))) == std::vector<uint8_t>{1, 0, 1, 0});
  checkFailure(
      [] {
        dlrt_t_binary(DLRT_DIV, make<int64_t>({2, 2}, {1, 2, 3, 4}), make<int64_t>({2}, {1, 0}), L);
      },
      "division by zero");
  checkFailure([] { dlrt_t_binary(DLRT_POW, make<int64_t>({1}, {1}), make<int64_t>({1}, {1}), L); },
               "'pow' is not defined for Tensor<Int>");
}

TEST_CASE("binary broadcasting: fast paths and the general walk") {
  Scope s;
  // [2, 3] + [3]: a row broadcast.
  DlTensor *m = s(make<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  DlTensor *row = s(make<float>({3}, {10, 20, 30}));
  DlTensor *sum = s(dlrt_t_binary(DLRT_ADD, m, row, L));
  CHECK(shapeOf(sum) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<float>(sum) == std::vector<float>{11, 22, 33, 14, 25, 36});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_SUB, row, m, L))) ==
        std::vector<float>{9, 18, 27, 6, 15, 24});
  // [2, 1] * [1, 3]: an outer product.
  DlTensor *col = s(make<float>({2, 1}, {2, 3}));
  DlTensor *r13 = s(make<float>({1, 3}, {1, 10, 100}));
  DlTensor *outer = s(dlrt_t_binary(DLRT_MUL, col, r13, L));
  CHECK(shapeOf(outer) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<float>(outer) == std::vector<float>{2, 20, 200, 3, 30, 300});
  // [2, 3] - [2, 1]: a column broadcast.
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_SUB, m, col, L))) ==
        std::vector<float>{-1, 0, 1, 1, 2, 3});
  // Scalars on either side, rank 0 or count 1.
  DlTensor *two = s(dlrt_t_scalar(DLRT_F32, 2));
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_DIV, m, two, L))) ==
        std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_SUB, two, m, L))) ==
        std::vector<float>{1, 0, -1, -2, -3, -4});
  DlTensor *one11 = s(make<float>({1, 1}, {1}));
  DlTensor *bumped = s(dlrt_t_binary(DLRT_ADD, row, one11, L));
  CHECK(shapeOf(bumped) == std::vector<int64_t>{1, 3});
  CHECK(valuesOf<float>(bumped) == std::vector<float>{11, 21, 31});
  DlTensor *scalarSum = s(dlrt_t_binary(DLRT_ADD, two, s(dlrt_t_scalar(DLRT_F32, 3)), L));
  CHECK(scalarSum->rank == 0);
  CHECK(valuesOf<float>(scalarSum) == std::vector<float>{5});

  // Random shape pairs against the reference, every operand layout.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{2, 1, 3}, {4, 1}},
      {{4, 1}, {2, 1, 3}},
      {{3, 4, 5}, {4, 1}},
      {{5, 1, 7}, {1, 6, 7}},
      {{1}, {3, 2}},
      {{2, 3, 4, 5}, {3, 1, 5}},
      {{6, 1, 1, 4}, {1, 3, 2, 1}},
      {{3, 1}, {3, 1}},
      {{1, 1}, {1}},
      {{2, 0, 3}, {3}},
      {{}, {2, 2}},
      {{7, 9}, {7, 1}}};
  std::mt19937 rng(5);
  for (auto &[sa, sb] : cases) {
    auto va = randomValues<double>(rng, countOf(sa));
    auto vb = randomValues<double>(rng, countOf(sb));
    DlTensor *a = s(make<double>(sa, va));
    DlTensor *b = s(make<double>(sb, vb));
    DlTensor *r = s(dlrt_t_binary(DLRT_MUL, a, b, L));
    CHECK(shapeOf(r) == broadcastShape(sa, sb));
    CHECK(valuesOf<double>(r) == referenceBinary<double, double>(
                                     sa, va, sb, vb, [](double x, double y) { return x * y; }));
    DlTensor *lt = s(dlrt_t_binary(DLRT_LT, a, b, L));
    CHECK(valuesOf<uint8_t>(lt) == referenceBinary<double, uint8_t>(
                                       sa, va, sb, vb, [](double x, double y) { return x < y; }));
  }
}

TEST_CASE("binary shape mismatches name the operation and both shapes") {
  checkFailure(
      [] {
        dlrt_t_binary(DLRT_ADD, dlrt_t_full(DLRT_F32, ints({128, 512}), 0, L),
                      dlrt_t_full(DLRT_F32, ints({10}), 0, L), L);
      },
      "shape mismatch in '+': [128, 512] vs [10]");
  checkFailure(
      [] {
        dlrt_t_binary(DLRT_MUL, dlrt_t_full(DLRT_F64, ints({2, 3}), 0, L),
                      dlrt_t_full(DLRT_F64, ints({2}), 0, L), L);
      },
      "shape mismatch in '*': [2, 3] vs [2]");
  checkFailure(
      [] {
        dlrt_t_binary(DLRT_GE, dlrt_t_full(DLRT_I64, ints({3, 2}), 0, L),
                      dlrt_t_full(DLRT_I64, ints({2, 3}), 0, L), L);
      },
      "shape mismatch in '>=': [3, 2] vs [2, 3]");
}

TEST_CASE("unary operations on Float and Double") {
  Scope s;
  const std::vector<double> xs = {-2.5, -0.5, 0.0, 0.3, 1.5, 2.5};
  const std::vector<double> positive = {0.01, 0.5, 1.0, 2.0, 10.0};
  struct Case {
    int32_t op;
    std::function<double(double)> f;
    bool positiveOnly;
  };
  const std::vector<Case> cases = {
      {DLRT_NEG, [](double x) { return -x; }, false},
      {DLRT_EXP, [](double x) { return std::exp(x); }, false},
      {DLRT_LOG, [](double x) { return std::log(x); }, true},
      {DLRT_LOG1P, [](double x) { return std::log1p(x); }, true},
      {DLRT_SQRT, [](double x) { return std::sqrt(x); }, true},
      {DLRT_RSQRT, [](double x) { return 1 / std::sqrt(x); }, true},
      {DLRT_ABS, [](double x) { return std::fabs(x); }, false},
      {DLRT_SIN, [](double x) { return std::sin(x); }, false},
      {DLRT_COS, [](double x) { return std::cos(x); }, false},
      {DLRT_TANH, [](double x) { return std::tanh(x); }, false},
      {DLRT_SIGMOID, [](double x) { return 1 / (1 + std::exp(-x)); }, false},
      {DLRT_RELU, [](double x) { return x > 0 ? x : 0; }, false},
      {DLRT_SIGN, [](double x) { return x > 0   ? 1.0
                                        : x < 0 ? -1.0
                                                : 0.0; }, false},
      {DLRT_FLOOR, [](double x) { return std::floor(x); }, false},
      {DLRT_CEIL, [](double x) { return std::ceil(x); }, false},
      {DLRT_ROUND, [](double x) { return std::round(x); }, false},
      {DLRT_STEP, [](double x) { return x > 0 ? 1.0 : 0.0; }, false},
  };
  for (const Case &c : cases) {
    const std::vector<double> &in = c.positiveOnly ? positive : xs;
    std::vector<double> want;
    for (double x : in)
      want.push_back(c.f(x));
    DlTensor *d = s(make<double>({static_cast<int64_t>(in.size())}, in));
    checkClose(valuesOf<double>(s(dlrt_t_unary(c.op, d, L))), want, 1e-15);
    std::vector<float> inF(in.begin(), in.end());
    DlTensor *f = s(make<float>({static_cast<int64_t>(in.size())}, inF));
    checkClose(valuesOf<float>(s(dlrt_t_unary(c.op, f, L))), want, 1e-6);
  }
  // Halfway cases round away from zero.
  DlTensor *halves = s(make<float>({4}, {0.5f, -0.5f, 2.5f, -1.5f}));
  CHECK(valuesOf<float>(s(dlrt_t_unary(DLRT_ROUND, halves, L))) ==
        std::vector<float>{1, -1, 3, -2});
  // The sigmoid is stable far out, and sign(NaN) is 0.
  DlTensor *far = s(make<float>({3}, {-1000, 1000, NAN}));
  auto sig = valuesOf<float>(s(dlrt_t_unary(DLRT_SIGMOID, far, L)));
  CHECK(sig[0] == 0);
  CHECK(sig[1] == 1);
  CHECK(valuesOf<float>(s(dlrt_t_unary(DLRT_SIGN, far, L)))[2] == 0);
  DlTensor *farD = s(make<double>({2}, {-800, 800}));
  auto sigD = valuesOf<double>(s(dlrt_t_unary(DLRT_SIGMOID, farD, L)));
  CHECK(sigD[0] == doctest::Approx(std::exp(-800.0)));
  CHECK(sigD[1] == 1);
}

TEST_CASE("unary operations on Int and Bool, and undefined kinds") {
  Scope s;
  DlTensor *i = s(make<int64_t>({4}, {-3, 0, 5, -1}));
  CHECK(valuesOf<int64_t>(s(dlrt_t_unary(DLRT_NEG, i, L))) == std::vector<int64_t>{3, 0, -5, 1});
  CHECK(valuesOf<int64_t>(s(dlrt_t_unary(DLRT_ABS, i, L))) == std::vector<int64_t>{3, 0, 5, 1});
  CHECK(valuesOf<int64_t>(s(dlrt_t_unary(DLRT_SIGN, i, L))) == std::vector<int64_t>{-1, 0, 1, -1});
  CHECK(valuesOf<int64_t>(s(dlrt_t_unary(DLRT_RELU, i, L))) == std::vector<int64_t>{0, 0, 5, 0});
  DlTensor *b = s(make<uint8_t>({3}, {1, 0, 1}));
  CHECK(valuesOf<uint8_t>(s(dlrt_t_unary(DLRT_NOT, b, L))) == std::vector<uint8_t>{0, 1, 0});
  checkFailure([] { dlrt_t_unary(DLRT_EXP, make<int64_t>({1}, {1}), L); },
               "'exp' is not defined for Tensor<Int>");
  checkFailure([] { dlrt_t_unary(DLRT_NOT, make<float>({1}, {1}), L); },
               "'!' is not defined for Tensor<Float>");
}

TEST_CASE("owned operands: computed in place when unshared, same values either way") {
  int64_t start = dlrt_t_live_count();
  std::vector<float> xs{-1.5f, 0.25f, 2.0f, 3.5f, -0.75f, 1.0f};
  // A long tensor too, so the vectorized loop bodies run in place.
  std::vector<float> longXs(1000);
  for (size_t i = 0; i < longXs.size(); ++i)
    longXs[i] = float(i % 17) * 0.25f - 2.0f;
  for (const auto &values : {xs, longXs}) {
    std::vector<int64_t> shape{int64_t(values.size())};
    DlTensor *row = make<float>({1}, {0.5f});
    for (int32_t op : {DLRT_EXP, DLRT_TANH, DLRT_RELU, DLRT_NEG}) {
      DlTensor *a = make<float>(shape, values);
      DlTensor *want = dlrt_t_unary(op, a, L);
      DlTensor *got = dlrt_t_unary_owned(op, a, L); // a unshared: reused
      CHECK(got == a);
      CHECK(valuesOf<float>(got) == valuesOf<float>(want));
      dlrt_t_release(got);
      dlrt_t_release(want);
    }
    for (int32_t op : {DLRT_ADD, DLRT_MUL, DLRT_SUB, DLRT_MAX}) {
      DlTensor *a = make<float>(shape, values);
      DlTensor *b = make<float>(shape, values);
      DlTensor *want = dlrt_t_binary(op, a, row, L);
      DlTensor *got = dlrt_t_binary_owned(op, a, row, 0, L);
      CHECK(got == a);
      CHECK(valuesOf<float>(got) == valuesOf<float>(want));
      dlrt_t_release(want);
      want = dlrt_t_binary(op, got, b, L);
      DlTensor *got2 = dlrt_t_binary_owned(op, got, b, 1, L); // into b
      CHECK(got2 == b);
      CHECK(valuesOf<float>(got2) == valuesOf<float>(want));
      dlrt_t_release(want);
      dlrt_t_release(got);
      dlrt_t_release(got2);
    }
    // A shared operand is left intact and released once.
    DlTensor *a = make<float>(shape, values);
    dlrt_t_retain(a);
    DlTensor *got = dlrt_t_unary_owned(DLRT_NEG, a, L);
    CHECK(got != a);
    CHECK(valuesOf<float>(a) == values);
    dlrt_t_release(got);
    // A broadcast operand cannot hold the result.
    DlTensor *big = make<float>({2, int64_t(values.size())}, std::vector<float>(2 * values.size(), 1.0f));
    got = dlrt_t_binary_owned(DLRT_ADD, a, big, 0, L);
    CHECK(got->rank == 2);
    dlrt_t_release(got);
    dlrt_t_release(big);
    dlrt_t_release(row);
  }
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("comparisons, logic and where") {
  Scope s;
  DlTensor *a = s(make<float>({2, 2}, {1, 2, 3, 4}));
  DlTensor *b = s(make<float>({2}, {2, 2}));
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_EQ, a, b, L))) == std::vector<uint8_t>{0, 1, 0, 0});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_NE, a, b, L))) == std::vector<uint8_t>{1, 0, 1, 1});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_LT, a, b, L))) == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_LE, a, b, L))) == std::vector<uint8_t>{1, 1, 0, 0});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_GT, a, b, L))) == std::vector<uint8_t>{0, 0, 1, 1});
  DlTensor *ge = s(dlrt_t_binary(DLRT_GE, a, b, L));
  CHECK(ge->kind == DLRT_BOOL);
  CHECK(valuesOf<uint8_t>(ge) == std::vector<uint8_t>{0, 1, 1, 1});
  DlTensor *p = s(make<uint8_t>({4}, {1, 1, 0, 0}));
  DlTensor *q = s(make<uint8_t>({4}, {1, 0, 1, 0}));
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_AND, p, q, L))) == std::vector<uint8_t>{1, 0, 0, 0});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_binary(DLRT_OR, p, q, L))) == std::vector<uint8_t>{1, 1, 1, 0});

  // where: same shapes, then c [2, 1], a [3], b scalar.
  DlTensor *c = s(make<uint8_t>({2, 2}, {1, 0, 0, 1}));
  DlTensor *x = s(make<double>({2, 2}, {1, 2, 3, 4}));
  DlTensor *y = s(make<double>({2, 2}, {-1, -2, -3, -4}));
  CHECK(valuesOf<double>(s(dlrt_t_where(c, x, y, L))) == std::vector<double>{1, -2, -3, 4});
  DlTensor *c21 = s(make<uint8_t>({2, 1}, {0, 1}));
  DlTensor *v3 = s(make<int64_t>({3}, {7, 8, 9}));
  DlTensor *zero = s(dlrt_t_scalar(DLRT_I64, 0));
  DlTensor *w = s(dlrt_t_where(c21, v3, zero, L));
  CHECK(shapeOf(w) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<int64_t>(w) == std::vector<int64_t>{0, 0, 0, 7, 8, 9});
  // A NULL branch stands for zeros; both NULL give NULL.
  CHECK(valuesOf<double>(s(dlrt_t_where(c, x, nullptr, L))) == std::vector<double>{1, 0, 0, 4});
  CHECK(valuesOf<double>(s(dlrt_t_where(c, nullptr, y, L))) == std::vector<double>{0, -2, -3, 0});
  CHECK(dlrt_t_where(c, nullptr, nullptr, L) == nullptr);
  checkFailure(
      [] {
        dlrt_t_where(make<uint8_t>({2}, {1, 0}), make<float>({3}, {1, 2, 3}), make<float>({1}, {0}),
                     L);
      },
      "shape mismatch in 'where': [2] vs [3] vs [1]");
}

TEST_CASE("zero tangents (NULL) follow the header's rules") {
  Scope s;
  DlTensor *a = s(make<float>({2}, {1, 2}));
  CHECK(dlrt_t_unary(DLRT_NEG, nullptr, L) == nullptr);
  DlTensor *sum = s(dlrt_t_binary(DLRT_ADD, nullptr, a, L));
  CHECK(sum == a); // the operand, retained
  CHECK(a->refcount == 2);
  CHECK(s(dlrt_t_binary(DLRT_ADD, a, nullptr, L)) == a);
  CHECK(dlrt_t_binary(DLRT_ADD, nullptr, nullptr, L) == nullptr);
  CHECK(valuesOf<float>(s(dlrt_t_binary(DLRT_SUB, nullptr, a, L))) == std::vector<float>{-1, -2});
  CHECK(s(dlrt_t_binary(DLRT_SUB, a, nullptr, L)) == a);
  CHECK(dlrt_t_binary(DLRT_SUB, nullptr, nullptr, L) == nullptr);
  CHECK(dlrt_t_binary(DLRT_MUL, nullptr, a, L) == nullptr);
  CHECK(dlrt_t_binary(DLRT_MUL, a, nullptr, L) == nullptr);
  CHECK(dlrt_t_binary(DLRT_DIV, nullptr, a, L) == nullptr);
  CHECK(dlrt_t_reduce_all(DLRT_SUM, nullptr, L) == 0);
  CHECK(dlrt_t_reduce_all(DLRT_MEAN, nullptr, L) == 0);
  CHECK(dlrt_t_reduce(DLRT_SUM, nullptr, 0, false, L) == nullptr);
  CHECK(dlrt_t_reduce(DLRT_MEAN, nullptr, 0, true, L) == nullptr);
  CHECK(dlrt_t_sum_to(nullptr, a, L) == nullptr);
  CHECK(dlrt_t_matmul(nullptr, a, false, false, L) == nullptr);
  CHECK(dlrt_t_matmul(a, nullptr, false, false, L) == nullptr);
  CHECK(dlrt_t_transpose(nullptr, nullptr, L) == nullptr);
  CHECK(dlrt_t_transpose_backward(nullptr, nullptr, L) == nullptr);
  CHECK(dlrt_t_reshape(nullptr, ints({2}), L) == nullptr);
  CHECK(dlrt_t_reshape_like(nullptr, a, L) == nullptr);
  int64_t zeroIndex = 0;
  CHECK(dlrt_t_index_backward(nullptr, a, 1, &zeroIndex, L) == nullptr);
  CHECK(dlrt_t_slice_backward(nullptr, a, 0, 1, L) == nullptr);
  // A NULL `like` (a zero tangent read as a primal value by a higher-order
  // derivative) gives NULL: what is shaped like it is never read.
  CHECK(dlrt_t_sum_to(a, nullptr, L) == nullptr);
  CHECK(dlrt_t_broadcast_to(a, nullptr, L) == nullptr);
  CHECK(dlrt_t_expand_axis(a, nullptr, 0, L) == nullptr);
  CHECK(dlrt_t_reshape_like(a, nullptr, L) == nullptr);
  CHECK(dlrt_t_index_backward(a, nullptr, 1, &zeroIndex, L) == nullptr);
  CHECK(dlrt_t_slice_backward(a, nullptr, 0, 1, L) == nullptr);
  DlTensor *m = s(dlrt_t_materialize(nullptr, a));
  CHECK(m != a);
  CHECK(valuesOf<float>(m) == std::vector<float>{0, 0});
  CHECK(s(dlrt_t_materialize(a, a)) == a);

  checkFailure([] { dlrt_t_unary(DLRT_EXP, nullptr, L); },
               "internal error: zero tangent passed to 'exp'");
  checkFailure([] { dlrt_t_binary(DLRT_DIV, make<float>({1}, {1}), nullptr, L); },
               "internal error: zero tangent passed to '/'");
  checkFailure([] { dlrt_t_binary(DLRT_POW, nullptr, make<float>({1}, {1}), L); },
               "internal error: zero tangent passed to 'pow'");
  checkFailure([] { dlrt_t_binary(DLRT_LT, nullptr, nullptr, L); },
               "internal error: zero tangent passed to '<'");
  checkFailure([] { dlrt_t_reduce_all(DLRT_RMAX, nullptr, L); },
               "internal error: zero tangent passed to 'max'");
  checkFailure([] { dlrt_t_reduce(DLRT_LOGSUMEXP, nullptr, 0, false, L); },
               "internal error: zero tangent passed to 'logSumExp'");
  // Linear in their tensor operand: the zero tangent maps to itself.
  CHECK(dlrt_t_index(nullptr, 0, nullptr, L) == nullptr);
  CHECK(dlrt_t_slice(nullptr, 0, 1, L) == nullptr);
  DlTensor *like = make<float>({1}, {1});
  CHECK(dlrt_t_broadcast_to(nullptr, like, L) == nullptr);
  dlrt_t_release(like);
  CHECK(dlrt_t_convert(nullptr, DLRT_F64) == nullptr);
  checkFailure([] { dlrt_t_where(nullptr, make<float>({1}, {1}), nullptr, L); },
               "internal error: zero tangent passed to 'where'");
  CHECK(dlrt_t_unique(nullptr) == nullptr);
}

TEST_CASE("convert between element kinds") {
  Scope s;
  DlTensor *f = s(make<float>({5}, {1.9f, -1.9f, 0, NAN, 3e30f}));
  CHECK(valuesOf<int64_t>(s(dlrt_t_convert(f, DLRT_I64))) ==
        std::vector<int64_t>{1, -1, 0, 0, INT64_MAX});
  CHECK(valuesOf<uint8_t>(s(dlrt_t_convert(f, DLRT_BOOL))) == std::vector<uint8_t>{1, 1, 0, 1, 1});
  DlTensor *i = s(make<int64_t>({2}, {16777217, -3}));
  CHECK(valuesOf<float>(s(dlrt_t_convert(i, DLRT_F32))) == std::vector<float>{16777216.f, -3});
  CHECK(valuesOf<double>(s(dlrt_t_convert(i, DLRT_F64))) == std::vector<double>{16777217, -3});
  DlTensor *b = s(make<uint8_t>({2}, {1, 0}));
  CHECK(valuesOf<double>(s(dlrt_t_convert(b, DLRT_F64))) == std::vector<double>{1, 0});
  CHECK(s(dlrt_t_convert(f, DLRT_F32)) == f);
  DlTensor *filled = s(dlrt_t_fill_like(i, 4.5));
  CHECK(filled->kind == DLRT_I64);
  CHECK(valuesOf<int64_t>(filled) == std::vector<int64_t>{4, 4});
}

// --- Reductions -------------------------------------------------------------------

TEST_CASE("reduce_all") {
  Scope s;
  DlTensor *a = s(make<float>({2, 3}, {1, -2, 3, 4, 5, -6}));
  CHECK(dlrt_t_reduce_all(DLRT_SUM, a, L) == 5);
  CHECK(dlrt_t_reduce_all(DLRT_MEAN, a, L) == doctest::Approx(5.0 / 6).epsilon(1e-7));
  CHECK(dlrt_t_reduce_all(DLRT_RMAX, a, L) == 5);
  CHECK(dlrt_t_reduce_all(DLRT_RMIN, a, L) == -6);
  CHECK(dlrt_t_reduce_all(DLRT_ARGMAX, a, L) == 4);
  double lse = 0;
  for (double x : {1.0, -2.0, 3.0, 4.0, 5.0, -6.0})
    lse += std::exp(x);
  CHECK(dlrt_t_reduce_all(DLRT_LOGSUMEXP, a, L) == doctest::Approx(std::log(lse)).epsilon(1e-6));

  // The first maximum wins; logsumexp does not overflow.
  DlTensor *ties = s(make<double>({4}, {1, 7, 7, 2}));
  CHECK(dlrt_t_reduce_all(DLRT_ARGMAX, ties, L) == 1);
  DlTensor *big = s(make<double>({2}, {1000, 1000}));
  CHECK(dlrt_t_reduce_all(DLRT_LOGSUMEXP, big, L) == doctest::Approx(1000 + std::log(2.0)));
  DlTensor *ninf = s(make<double>({2}, {-INFINITY, -INFINITY}));
  CHECK(dlrt_t_reduce_all(DLRT_LOGSUMEXP, ninf, L) == -INFINITY);
  DlTensor *nan = s(make<float>({3}, {1, NAN, 2}));
  CHECK(std::isnan(dlrt_t_reduce_all(DLRT_RMAX, nan, L)));
  CHECK(std::isnan(dlrt_t_reduce_all(DLRT_RMIN, nan, L)));
  // Long runs (kept in lanes) with the extremum and a NaN in every position class.
  for (int64_t n : {64, 100, 1000}) {
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
      v[i] = static_cast<double>((i * 37) % n) - 5;
    DlTensor *t = s(make<double>({n}, v));
    CHECK(dlrt_t_reduce_all(DLRT_RMAX, t, L) == static_cast<double>(n - 6));
    CHECK(dlrt_t_reduce_all(DLRT_RMIN, t, L) == -5);
    for (int64_t at : {int64_t{0}, int64_t{31}, n / 2, n - 1}) {
      std::vector<float> f(v.begin(), v.end());
      f[at] = NAN;
      DlTensor *tn = s(make<float>({n}, f));
      CHECK(std::isnan(dlrt_t_reduce_all(DLRT_RMAX, tn, L)));
      CHECK(std::isnan(dlrt_t_reduce_all(DLRT_RMIN, tn, L)));
      CHECK(dlrt_t_reduce_all(DLRT_ARGMAX, tn, L) == at);
    }
  }
  DlTensor *ints64 = s(make<int64_t>({3}, {4, -9, 2}));
  CHECK(dlrt_t_reduce_all(DLRT_SUM, ints64, L) == -3);
  CHECK(dlrt_t_reduce_all(DLRT_MEAN, ints64, L) == -1);
  CHECK(dlrt_t_reduce_all(DLRT_RMIN, ints64, L) == -9);
  CHECK(dlrt_t_reduce_all(DLRT_SUM, s(dlrt_t_full(DLRT_F32, ints({0}), 0, L)), L) == 0);

  // Pairwise summation: a million 0.1f sum close to the exact value, where a
  // running float sum is off by about 1%.
  DlTensor *many = s(dlrt_t_full(DLRT_F32, ints({1000000}), 0.1, L));
  double exact = 1000000 * static_cast<double>(0.1f);
  CHECK(std::fabs(dlrt_t_reduce_all(DLRT_SUM, many, L) - exact) < 1e-6 * exact);
  CHECK(dlrt_t_reduce_all(DLRT_MEAN, many, L) == doctest::Approx(0.1).epsilon(1e-6));

  checkFailure([] { dlrt_t_reduce_all(DLRT_MEAN, dlrt_t_full(DLRT_F32, ints({0}), 0, L), L); },
               "reduction of an empty tensor");
  checkFailure(
      [] {
        dlrt_t_reduce_all(DLRT_RMAX, dlrt_t_full(DLRT_F64, ints({2, 0}), 0, L), L);
      },
      "reduction of an empty tensor");
  checkFailure([] { dlrt_t_reduce_all(DLRT_ARGMAX, dlrt_t_full(DLRT_I64, ints({0}), 0, L), L); },
               "reduction of an empty tensor");
}

TEST_CASE("reduce over an axis, with and without keepDims") {
  Scope s;
  DlTensor *a = s(make<float>({2, 3}, {1, 5, 3, 4, 2, 6}));
  DlTensor *s0 = s(dlrt_t_reduce(DLRT_SUM, a, 0, false, L));
  CHECK(shapeOf(s0) == std::vector<int64_t>{3});
  CHECK(valuesOf<float>(s0) == std::vector<float>{5, 7, 9});
  DlTensor *s1 = s(dlrt_t_reduce(DLRT_SUM, a, 1, true, L));
  CHECK(shapeOf(s1) == std::vector<int64_t>{2, 1});
  CHECK(valuesOf<float>(s1) == std::vector<float>{9, 12});
  DlTensor *sNeg = s(dlrt_t_reduce(DLRT_SUM, a, -1, false, L));
  CHECK(shapeOf(sNeg) == std::vector<int64_t>{2});
  CHECK(valuesOf<float>(sNeg) == std::vector<float>{9, 12});
  CHECK(valuesOf<float>(s(dlrt_t_reduce(DLRT_MEAN, a, 0, false, L))) ==
        std::vector<float>{2.5f, 3.5f, 4.5f});
  CHECK(valuesOf<float>(s(dlrt_t_reduce(DLRT_RMAX, a, 1, false, L))) == std::vector<float>{5, 6});
  CHECK(valuesOf<float>(s(dlrt_t_reduce(DLRT_RMAX, a, -2, true, L))) ==
        std::vector<float>{4, 5, 6});
  CHECK(valuesOf<float>(s(dlrt_t_reduce(DLRT_RMIN, a, 0, false, L))) ==
        std::vector<float>{1, 2, 3});
  DlTensor *am = s(dlrt_t_reduce(DLRT_ARGMAX, a, 1, false, L));
  CHECK(am->kind == DLRT_I64);
  CHECK(valuesOf<int64_t>(am) == std::vector<int64_t>{1, 2});
  CHECK(valuesOf<int64_t>(s(dlrt_t_reduce(DLRT_ARGMAX, a, 0, true, L))) ==
        std::vector<int64_t>{1, 0, 1});
  auto lse = valuesOf<float>(s(dlrt_t_reduce(DLRT_LOGSUMEXP, a, 1, false, L)));
  CHECK(lse[0] == doctest::Approx(std::log(std::exp(1.0) + std::exp(5.0) + std::exp(3.0))));
  CHECK(lse[1] == doctest::Approx(std::log(std::exp(4.0) + std::exp(2.0) + std::exp(6.0))));

  // A rank-3 tensor over every axis against a reference, in Double.
  std::mt19937 rng(11);
  std::vector<int64_t> shape = {3, 4, 5};
  auto v = randomValues<double>(rng, 60);
  DlTensor *t = s(make<double>(shape, v));
  for (int axis = 0; axis < 3; ++axis) {
    std::vector<int64_t> outShape = shape;
    outShape[axis] = 1;
    std::vector<double> sum(static_cast<size_t>(countOf(outShape)), 0.0);
    std::vector<double> mx(sum.size(), -INFINITY), lseRef(sum.size(), 0.0);
    std::vector<int64_t> arg(sum.size(), 0);
    for (int64_t i = 0; i < 60; ++i) {
      auto index = unflatten(i, shape);
      int64_t along = index[axis];
      index[axis] = 0;
      int64_t o = operandIndex(outShape, index);
      sum[o] += v[i];
      lseRef[o] += std::exp(v[i]);
      if (v[i] > mx[o]) {
        mx[o] = v[i];
        arg[o] = along;
      }
    }
    for (double &x : lseRef)
      x = std::log(x);
    DlTensor *rs = s(dlrt_t_reduce(DLRT_SUM, t, axis, true, L));
    CHECK(shapeOf(rs) == outShape);
    checkClose(valuesOf<double>(rs), sum, 1e-14);
    checkClose(valuesOf<double>(s(dlrt_t_reduce(DLRT_RMAX, t, axis, false, L))), mx, 0);
    checkClose(valuesOf<double>(s(dlrt_t_reduce(DLRT_LOGSUMEXP, t, axis, false, L))), lseRef,
               1e-14);
    CHECK(valuesOf<int64_t>(s(dlrt_t_reduce(DLRT_ARGMAX, t, axis - 3, false, L))) == arg);
  }
  // Infinities and NaN along either axis.
  DlTensor *special = s(make<double>({2, 2}, {-INFINITY, 1, -INFINITY, NAN}));
  auto lse0 = valuesOf<double>(s(dlrt_t_reduce(DLRT_LOGSUMEXP, special, 0, false, L)));
  CHECK(lse0[0] == -INFINITY);
  CHECK(std::isnan(lse0[1]));
  auto lse1 = valuesOf<double>(s(dlrt_t_reduce(DLRT_LOGSUMEXP, special, 1, false, L)));
  CHECK(lse1[0] == doctest::Approx(1.0));
  CHECK(std::isnan(lse1[1]));
  auto max0 = valuesOf<double>(s(dlrt_t_reduce(DLRT_RMAX, special, 0, false, L)));
  CHECK(max0[0] == -INFINITY);
  CHECK(std::isnan(max0[1]));
  auto min1 = valuesOf<double>(s(dlrt_t_reduce(DLRT_RMIN, special, 1, false, L)));
  CHECK(min1[0] == -INFINITY);
  CHECK(std::isnan(min1[1]));
  DlTensor *inf = s(make<float>({1, 3}, {INFINITY, 1, 2}));
  CHECK(valuesOf<float>(s(dlrt_t_reduce(DLRT_LOGSUMEXP, inf, 1, false, L)))[0] == INFINITY);

  // Int sums and an empty axis (SUM gives zeros).
  DlTensor *i = s(make<int64_t>({2, 2}, {1, 2, 3, 4}));
  CHECK(valuesOf<int64_t>(s(dlrt_t_reduce(DLRT_SUM, i, 0, false, L))) ==
        std::vector<int64_t>{4, 6});
  DlTensor *e =
      s(dlrt_t_reduce(DLRT_SUM, s(dlrt_t_full(DLRT_F32, ints({2, 0}), 0, L)), 1, false, L));
  CHECK(valuesOf<float>(e) == std::vector<float>{0, 0});

  checkFailure(
      [] {
        dlrt_t_reduce(DLRT_SUM, dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), 2, false, L);
      },
      "axis 2 is out of range for a tensor of rank 2");
  checkFailure(
      [] {
        dlrt_t_reduce(DLRT_SUM, dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), -3, false, L);
      },
      "axis -3 is out of range for a tensor of rank 2");
  checkFailure(
      [] {
        dlrt_t_reduce(DLRT_RMAX, dlrt_t_full(DLRT_F32, ints({2, 0}), 0, L), 1, false, L);
      },
      "reduction of an empty tensor");
}

TEST_CASE("expand_axis: the adjoint of a reduction") {
  Scope s;
  DlTensor *like = s(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L));
  DlTensor *g3 = s(make<float>({3}, {1, 2, 3}));
  DlTensor *e0 = s(dlrt_t_expand_axis(g3, like, 0, L));
  CHECK(shapeOf(e0) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<float>(e0) == std::vector<float>{1, 2, 3, 1, 2, 3});
  DlTensor *g2 = s(make<float>({2}, {7, 8}));
  CHECK(valuesOf<float>(s(dlrt_t_expand_axis(g2, like, -1, L))) ==
        std::vector<float>{7, 7, 7, 8, 8, 8});
  DlTensor *g21 = s(make<float>({2, 1}, {7, 8}));
  CHECK(valuesOf<float>(s(dlrt_t_expand_axis(g21, like, 1, L))) ==
        std::vector<float>{7, 7, 7, 8, 8, 8});
  DlTensor *g13 = s(make<float>({1, 3}, {4, 5, 6}));
  CHECK(valuesOf<float>(s(dlrt_t_expand_axis(g13, like, 0, L))) ==
        std::vector<float>{4, 5, 6, 4, 5, 6});
  // Over the middle axis of a rank-3 tensor, the reduction dropping it.
  DlTensor *like3 = s(dlrt_t_full(DLRT_I64, ints({2, 2, 2}), 0, L));
  DlTensor *m = s(make<int64_t>({2, 2}, {1, 2, 3, 4}));
  CHECK(valuesOf<int64_t>(s(dlrt_t_expand_axis(m, like3, 1, L))) ==
        std::vector<int64_t>{1, 2, 1, 2, 3, 4, 3, 4});
  // The round trip with reduce.
  DlTensor *x = s(make<double>({2, 3}, {1, 2, 3, 4, 5, 6}));
  DlTensor *mx = s(dlrt_t_reduce(DLRT_RMAX, x, 1, false, L));
  CHECK(valuesOf<double>(s(dlrt_t_expand_axis(mx, x, 1, L))) ==
        std::vector<double>{3, 3, 3, 6, 6, 6});
  CHECK(dlrt_t_expand_axis(nullptr, like, 0, L) == nullptr);
  checkFailure(
      [] {
        dlrt_t_expand_axis(make<float>({3}, {1, 2, 3}), dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L),
                           1, L);
      },
      "shape mismatch in 'expand_axis': [3] vs [2, 3]");
  checkFailure(
      [] {
        dlrt_t_expand_axis(make<float>({3}, {1, 2, 3}), dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L),
                           2, L);
      },
      "axis 2 is out of range for a tensor of rank 2");
}

TEST_CASE("sum_to and broadcast_to") {
  Scope s;
  DlTensor *g = s(make<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  DlTensor *like3 = s(dlrt_t_full(DLRT_F32, ints({3}), 0, L));
  DlTensor *r3 = s(dlrt_t_sum_to(g, like3, L));
  CHECK(shapeOf(r3) == std::vector<int64_t>{3});
  CHECK(valuesOf<float>(r3) == std::vector<float>{5, 7, 9});
  DlTensor *r21 = s(dlrt_t_sum_to(g, s(dlrt_t_full(DLRT_F32, ints({2, 1}), 0, L)), L));
  CHECK(shapeOf(r21) == std::vector<int64_t>{2, 1});
  CHECK(valuesOf<float>(r21) == std::vector<float>{6, 15});
  DlTensor *r0 = s(dlrt_t_sum_to(g, s(dlrt_t_scalar(DLRT_F32, 0)), L));
  CHECK(r0->rank == 0);
  CHECK(valuesOf<float>(r0) == std::vector<float>{21});
  CHECK(valuesOf<float>(s(dlrt_t_sum_to(g, s(dlrt_t_full(DLRT_F32, ints({1, 1}), 0, L)), L))) ==
        std::vector<float>{21});
  CHECK(s(dlrt_t_sum_to(g, g, L)) == g);

  // A rank-3 case against the reference: [2, 3, 4] summed to [3, 1].
  std::mt19937 rng(3);
  auto v = randomValues<double>(rng, 24);
  DlTensor *g3 = s(make<double>({2, 3, 4}, v));
  DlTensor *r31 = s(dlrt_t_sum_to(g3, s(dlrt_t_full(DLRT_F64, ints({3, 1}), 0, L)), L));
  std::vector<double> want(3, 0.0);
  for (int64_t i = 0; i < 24; ++i)
    want[(i / 4) % 3] += v[i];
  checkClose(valuesOf<double>(r31), want, 1e-14);

  DlTensor *row = s(make<int64_t>({3}, {1, 2, 3}));
  DlTensor *b = s(dlrt_t_broadcast_to(row, s(dlrt_t_full(DLRT_I64, ints({2, 3}), 0, L)), L));
  CHECK(shapeOf(b) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<int64_t>(b) == std::vector<int64_t>{1, 2, 3, 1, 2, 3});
  DlTensor *col = s(make<float>({2, 1}, {7, 8}));
  CHECK(valuesOf<float>(s(dlrt_t_broadcast_to(col, g, L))) == std::vector<float>{7, 7, 7, 8, 8, 8});
  DlTensor *scalar = s(dlrt_t_scalar(DLRT_F32, 2));
  CHECK(valuesOf<float>(s(dlrt_t_broadcast_to(scalar, g, L))) == std::vector<float>(6, 2.0f));
  CHECK(s(dlrt_t_broadcast_to(g, g, L)) == g);

  checkFailure(
      [] {
        dlrt_t_sum_to(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L),
                      dlrt_t_full(DLRT_F32, ints({2}), 0, L), L);
      },
      "shape mismatch in 'sum_to': [2, 3] vs [2]");
  checkFailure(
      [] {
        dlrt_t_broadcast_to(dlrt_t_full(DLRT_F32, ints({4}), 0, L),
                            dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L), L);
      },
      "shape mismatch in 'broadcast_to': [4] vs [2, 3]");
}

// --- Linear algebra ---------------------------------------------------------------

TEST_CASE("matmul: every transpose combination against a naive product") {
  Scope s;
  std::mt19937 rng(7);
  const int64_t m = 5, n = 7, k = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto va = randomValues<double>(rng, m * k);
      auto vb = randomValues<double>(rng, k * n);
      auto want = referenceMatmul(va, vb, m, n, k, ta, tb);
      std::vector<int64_t> sa = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
      std::vector<int64_t> sb = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
      DlTensor *d = s(dlrt_t_matmul(s(make<double>(sa, va)), s(make<double>(sb, vb)), ta, tb, L));
      CHECK(shapeOf(d) == std::vector<int64_t>{m, n});
      checkClose(valuesOf<double>(d), want, 1e-13);
      std::vector<float> fa(va.begin(), va.end()), fb(vb.begin(), vb.end());
      DlTensor *f = s(dlrt_t_matmul(s(make<float>(sa, fa)), s(make<float>(sb, fb)), ta, tb, L));
      checkClose(valuesOf<float>(f), want, 1e-5);
      // Int, with small integers.
      std::vector<int64_t> ia, ib;
      std::vector<double> da, db;
      for (int64_t i = 0; i < m * k; ++i) {
        ia.push_back(i % 5 - 2);
        da.push_back(static_cast<double>(ia.back()));
      }
      for (int64_t i = 0; i < k * n; ++i) {
        ib.push_back(i % 7 - 3);
        db.push_back(static_cast<double>(ib.back()));
      }
      DlTensor *it =
          s(dlrt_t_matmul(s(make<int64_t>(sa, ia)), s(make<int64_t>(sb, ib)), ta, tb, L));
      checkClose(valuesOf<int64_t>(it), referenceMatmul(da, db, m, n, k, ta, tb), 0);
      // One row or one column (the GEMV paths), transposed or not.
      for (int64_t rows : {int64_t{1}, m})
        for (int64_t cols : {int64_t{1}, n}) {
          auto a1 = randomValues<double>(rng, rows * k);
          auto b1 = randomValues<double>(rng, k * cols);
          std::vector<int64_t> s1 =
              ta ? std::vector<int64_t>{k, rows} : std::vector<int64_t>{rows, k};
          std::vector<int64_t> s2 =
              tb ? std::vector<int64_t>{cols, k} : std::vector<int64_t>{k, cols};
          std::vector<float> f1(a1.begin(), a1.end()), f2(b1.begin(), b1.end());
          DlTensor *p = s(dlrt_t_matmul(s(make<float>(s1, f1)), s(make<float>(s2, f2)), ta, tb, L));
          CHECK(shapeOf(p) == std::vector<int64_t>{rows, cols});
          checkClose(valuesOf<float>(p), referenceMatmul(a1, b1, rows, cols, k, ta, tb), 1e-5);
        }
    }
}

TEST_CASE("matmul: rank-1 operands and batches") {
  Scope s;
  std::mt19937 rng(9);
  const int64_t m = 4, n = 3, k = 6;
  auto va = randomValues<double>(rng, m * k);
  auto vb = randomValues<double>(rng, k * n);
  auto vk = randomValues<double>(rng, k);
  auto vk2 = randomValues<double>(rng, k);
  DlTensor *A = s(make<double>({m, k}, va));
  DlTensor *B = s(make<double>({k, n}, vb));
  DlTensor *x = s(make<double>({k}, vk));
  DlTensor *y = s(make<double>({k}, vk2));
  // vector @ matrix: [k] @ [k, n] -> [n]
  DlTensor *xB = s(dlrt_t_matmul(x, B, false, false, L));
  CHECK(shapeOf(xB) == std::vector<int64_t>{n});
  checkClose(valuesOf<double>(xB), referenceMatmul(vk, vb, 1, n, k, false, false), 1e-13);
  // matrix @ vector: [m, k] @ [k] -> [m]
  DlTensor *Ax = s(dlrt_t_matmul(A, x, false, false, L));
  CHECK(shapeOf(Ax) == std::vector<int64_t>{m});
  checkClose(valuesOf<double>(Ax), referenceMatmul(va, vk, m, 1, k, false, false), 1e-13);
  // A^T is [k, m]; A^T @ [m] uses the transpose flag.
  auto vm = randomValues<double>(rng, m);
  DlTensor *z = s(make<double>({m}, vm));
  DlTensor *Atz = s(dlrt_t_matmul(A, z, true, false, L));
  CHECK(shapeOf(Atz) == std::vector<int64_t>{k});
  checkClose(valuesOf<double>(Atz), referenceMatmul(va, vm, k, 1, m, true, false), 1e-13);
  // vector @ vector -> rank 0
  DlTensor *dot = s(dlrt_t_matmul(x, y, false, false, L));
  CHECK(dot->rank == 0);
  double want = 0;
  for (int64_t i = 0; i < k; ++i)
    want += vk[i] * vk2[i];
  CHECK(valuesOf<double>(dot)[0] == doctest::Approx(want));

  // [2, m, k] @ [k, n] (one stacked GEMM), [2, m, k] @ [2, k, n], [k, n]-transposed batches,
  // [2, 1, m, k] @ [3, k, n] (broadcast batch axes) and [m, k] @ [2, k, n].
  auto v2a = randomValues<double>(rng, 2 * m * k);
  auto v2b = randomValues<double>(rng, 2 * k * n);
  auto v3b = randomValues<double>(rng, 3 * k * n);
  DlTensor *A2 = s(make<double>({2, m, k}, v2a));
  DlTensor *B2 = s(make<double>({2, k, n}, v2b));
  DlTensor *B3 = s(make<double>({3, k, n}, v3b));
  auto slice = [](const std::vector<double> &v, int64_t i, int64_t size) {
    return std::vector<double>(v.begin() + i * size, v.begin() + (i + 1) * size);
  };
  auto concat = [](std::vector<double> a, const std::vector<double> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  DlTensor *p1 = s(dlrt_t_matmul(A2, B, false, false, L));
  CHECK(shapeOf(p1) == std::vector<int64_t>{2, m, n});
  checkClose(valuesOf<double>(p1),
             concat(referenceMatmul(slice(v2a, 0, m * k), vb, m, n, k, false, false),
                    referenceMatmul(slice(v2a, 1, m * k), vb, m, n, k, false, false)),
             1e-13);
  DlTensor *p2 = s(dlrt_t_matmul(A2, B2, false, false, L));
  checkClose(
      valuesOf<double>(p2),
      concat(referenceMatmul(slice(v2a, 0, m * k), slice(v2b, 0, k * n), m, n, k, false, false),
             referenceMatmul(slice(v2a, 1, m * k), slice(v2b, 1, k * n), m, n, k, false, false)),
      1e-13);
  // Stored as [2, k, m] and [2, n, k], transposed by the flags.
  DlTensor *A2t = s(make<double>({2, k, m}, v2a));
  DlTensor *B2t = s(make<double>({2, n, k}, v2b));
  DlTensor *p3 = s(dlrt_t_matmul(A2t, B2t, true, true, L));
  CHECK(shapeOf(p3) == std::vector<int64_t>{2, m, n});
  checkClose(
      valuesOf<double>(p3),
      concat(referenceMatmul(slice(v2a, 0, m * k), slice(v2b, 0, k * n), m, n, k, true, true),
             referenceMatmul(slice(v2a, 1, m * k), slice(v2b, 1, k * n), m, n, k, true, true)),
      1e-13);
  DlTensor *A21 = s(make<double>({2, 1, m, k}, v2a));
  DlTensor *p4 = s(dlrt_t_matmul(A21, B3, false, false, L));
  CHECK(shapeOf(p4) == std::vector<int64_t>{2, 3, m, n});
  std::vector<double> want4;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      want4 = concat(want4, referenceMatmul(slice(v2a, i, m * k), slice(v3b, j, k * n), m, n, k,
                                            false, false));
  checkClose(valuesOf<double>(p4), want4, 1e-13);
  DlTensor *p5 = s(dlrt_t_matmul(A, B2, false, false, L));
  CHECK(shapeOf(p5) == std::vector<int64_t>{2, m, n});
  checkClose(valuesOf<double>(p5),
             concat(referenceMatmul(va, slice(v2b, 0, k * n), m, n, k, false, false),
                    referenceMatmul(va, slice(v2b, 1, k * n), m, n, k, false, false)),
             1e-13);
  // [2, m, k] @ [k] -> [2, m]
  DlTensor *p6 = s(dlrt_t_matmul(A2, x, false, false, L));
  CHECK(shapeOf(p6) == std::vector<int64_t>{2, m});
  checkClose(valuesOf<double>(p6),
             concat(referenceMatmul(slice(v2a, 0, m * k), vk, m, 1, k, false, false),
                    referenceMatmul(slice(v2a, 1, m * k), vk, m, 1, k, false, false)),
             1e-13);
  // An empty inner dimension gives zeros.
  DlTensor *e = s(dlrt_t_matmul(s(dlrt_t_full(DLRT_F32, ints({2, 0}), 1, L)),
                                s(dlrt_t_full(DLRT_F32, ints({0, 3}), 1, L)), false, false, L));
  CHECK(valuesOf<float>(e) == std::vector<float>(6, 0.0f));

  checkFailure(
      [] {
        dlrt_t_matmul(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L),
                      dlrt_t_full(DLRT_F32, ints({4, 5}), 0, L), false, false, L);
      },
      "shape mismatch in '@': [2, 3] vs [4, 5]");
  checkFailure(
      [] {
        dlrt_t_matmul(dlrt_t_full(DLRT_F32, ints({2, 2, 3}), 0, L),
                      dlrt_t_full(DLRT_F32, ints({3, 3, 4}), 0, L), false, false, L);
      },
      "shape mismatch in '@': [2, 2, 3] vs [3, 3, 4]");
}

TEST_CASE("transpose with and without a permutation, and its adjoint") {
  Scope s;
  DlTensor *m = s(make<float>({2, 3}, {1, 2, 3, 4, 5, 6}));
  DlTensor *mt = s(dlrt_t_transpose(m, nullptr, L));
  CHECK(shapeOf(mt) == std::vector<int64_t>{3, 2});
  CHECK(valuesOf<float>(mt) == std::vector<float>{1, 4, 2, 5, 3, 6});
  CHECK(valuesOf<float>(s(dlrt_t_transpose_backward(mt, nullptr, L))) == valuesOf<float>(m));
  CHECK(s(dlrt_t_transpose(m, ints({0, 1}), L)) == m);

  // Every permutation of a [2, 3, 4] tensor against index arithmetic; the
  // adjoint brings each back. Also a large batched swap (the tiled path).
  std::vector<int64_t> shape = {2, 3, 4};
  std::vector<int64_t> v(24);
  for (int64_t i = 0; i < 24; ++i)
    v[i] = i;
  DlTensor *t = s(make<int64_t>(shape, v));
  std::vector<int64_t> perm = {0, 1, 2};
  do {
    DlTensor *p = s(dlrt_t_transpose(t, ints(perm), L));
    std::vector<int64_t> outShape = {shape[perm[0]], shape[perm[1]], shape[perm[2]]};
    CHECK(shapeOf(p) == outShape);
    auto got = valuesOf<int64_t>(p);
    for (int64_t i = 0; i < 24; ++i) {
      auto outIndex = unflatten(i, outShape);
      std::vector<int64_t> inIndex(3);
      for (int d = 0; d < 3; ++d)
        inIndex[perm[d]] = outIndex[d];
      CHECK(got[i] == (inIndex[0] * 3 + inIndex[1]) * 4 + inIndex[2]);
    }
    DlTensor *back = s(dlrt_t_transpose_backward(p, ints(perm), L));
    CHECK(shapeOf(back) == shape);
    CHECK(valuesOf<int64_t>(back) == v);
  } while (std::next_permutation(perm.begin(), perm.end()));
  DlTensor *rev = s(dlrt_t_transpose(t, nullptr, L));
  CHECK(shapeOf(rev) == std::vector<int64_t>{4, 3, 2});
  CHECK(valuesOf<int64_t>(rev)[1] == 12);

  std::vector<double> big(3 * 70 * 45);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<double>(i);
  DlTensor *b = s(make<double>({3, 70, 45}, big));
  auto bt = valuesOf<double>(s(dlrt_t_transpose(b, ints({0, 2, 1}), L)));
  bool ok = true;
  for (int64_t q = 0; q < 3; ++q)
    for (int64_t i = 0; i < 70; ++i)
      for (int64_t j = 0; j < 45; ++j)
        ok = ok && bt[(q * 45 + j) * 70 + i] == big[(q * 70 + i) * 45 + j];
  CHECK(ok);
  DlTensor *bools = s(make<uint8_t>({2, 2}, {1, 0, 0, 0}));
  CHECK(valuesOf<uint8_t>(s(dlrt_t_transpose(bools, nullptr, L))) ==
        std::vector<uint8_t>{1, 0, 0, 0});

  checkFailure(
      [] {
        dlrt_t_transpose(dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), ints({0, 0}), L);
      },
      "invalid permutation [0, 0] for a tensor of rank 2");
  checkFailure(
      [] {
        dlrt_t_transpose(dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), ints({1}), L);
      },
      "invalid permutation [1] for a tensor of rank 2");
  checkFailure(
      [] {
        dlrt_t_transpose_backward(dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), ints({0, 2}), L);
      },
      "invalid permutation [0, 2] for a tensor of rank 2");
}

// --- Shape, indexing --------------------------------------------------------------

TEST_CASE("reshape and reshape_like") {
  Scope s;
  DlTensor *a = s(dlrt_t_arange(DLRT_F32, 6, L));
  DlTensor *r = s(dlrt_t_reshape(a, ints({2, -1}), L));
  CHECK(shapeOf(r) == std::vector<int64_t>{2, 3});
  CHECK(valuesOf<float>(r) == std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(shapeOf(s(dlrt_t_reshape(r, ints({-1}), L))) == std::vector<int64_t>{6});
  CHECK(shapeOf(s(dlrt_t_reshape(r, ints({3, 1, 2}), L))) == std::vector<int64_t>{3, 1, 2});
  CHECK(s(dlrt_t_reshape(s(dlrt_t_scalar(DLRT_F32, 1)), ints({1, 1}), L))->count == 1);
  DlTensor *like = s(dlrt_t_full(DLRT_F32, ints({3, 2}), 0, L));
  DlTensor *rl = s(dlrt_t_reshape_like(a, like, L));
  CHECK(shapeOf(rl) == std::vector<int64_t>{3, 2});
  CHECK(valuesOf<float>(rl) == valuesOf<float>(a));
  CHECK(s(dlrt_t_reshape_like(like, like, L)) == like);

  checkFailure(
      [] {
        dlrt_t_reshape(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L), ints({4, -1}), L);
      },
      "cannot reshape [2, 3] (6 elements) to [4, -1]");
  checkFailure(
      [] {
        dlrt_t_reshape(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L), ints({-1, -1}), L);
      },
      "cannot reshape [2, 3] (6 elements) to [-1, -1]");
  checkFailure(
      [] {
        dlrt_t_reshape(dlrt_t_full(DLRT_F32, ints({2, 3}), 0, L), ints({7}), L);
      },
      "cannot reshape [2, 3] (6 elements) to [7]");
  checkFailure(
      [] {
        dlrt_t_reshape_like(dlrt_t_full(DLRT_F32, ints({1}), 0, L),
                            dlrt_t_full(DLRT_F32, ints({2, 2}), 0, L), L);
      },
      "cannot reshape [1] (1 element) to [2, 2]");
}

TEST_CASE("index, slice and their adjoints") {
  Scope s;
  DlTensor *t = s(make<int64_t>({3, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  int64_t i1[] = {1};
  DlTensor *row = s(dlrt_t_index(t, 1, i1, L));
  CHECK(shapeOf(row) == std::vector<int64_t>{2, 2});
  CHECK(valuesOf<int64_t>(row) == std::vector<int64_t>{4, 5, 6, 7});
  int64_t i3[] = {2, 1, 0};
  DlTensor *elem = s(dlrt_t_index(t, 3, i3, L));
  CHECK(elem->rank == 0);
  CHECK(dlrt_t_item_i64(elem, L) == 10);
  DlTensor *sl = s(dlrt_t_slice(t, 1, 3, L));
  CHECK(shapeOf(sl) == std::vector<int64_t>{2, 2, 2});
  CHECK(valuesOf<int64_t>(sl) == std::vector<int64_t>{4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(s(dlrt_t_slice(t, 2, 2, L))->count == 0);

  DlTensor *like = s(dlrt_t_full(DLRT_F32, ints({3, 2}), 0, L));
  DlTensor *g = s(make<float>({2}, {5, 6}));
  int64_t j[] = {2};
  DlTensor *ib = s(dlrt_t_index_backward(g, like, 1, j, L));
  CHECK(shapeOf(ib) == std::vector<int64_t>{3, 2});
  CHECK(valuesOf<float>(ib) == std::vector<float>{0, 0, 0, 0, 5, 6});
  DlTensor *g2 = s(make<float>({1, 2}, {7, 8}));
  DlTensor *sb = s(dlrt_t_slice_backward(g2, like, 1, 2, L));
  CHECK(valuesOf<float>(sb) == std::vector<float>{0, 0, 7, 8, 0, 0});

  checkFailure(
      [] {
        int64_t idx[] = {5};
        dlrt_t_index(dlrt_t_full(DLRT_F32, ints({3}), 0, L), 1, idx, L);
      },
      "index 5 is out of range for axis 0 of size 3");
  checkFailure(
      [] {
        int64_t idx[] = {0, -1};
        dlrt_t_index(dlrt_t_full(DLRT_F32, ints({3, 4}), 0, L), 2, idx, L);
      },
      "index -1 is out of range for axis 1 of size 4");
  checkFailure(
      [] {
        int64_t idx[] = {0, 0};
        dlrt_t_index(dlrt_t_full(DLRT_F32, ints({3}), 0, L), 2, idx, L);
      },
      "too many indices (2) for a tensor of rank 1");
  checkFailure([] { dlrt_t_slice(dlrt_t_full(DLRT_F32, ints({3}), 0, L), 2, 5, L); },
               "slice 2..<5 is out of range for axis 0 of size 3");
  checkFailure([] { dlrt_t_slice(dlrt_t_full(DLRT_F32, ints({3}), 0, L), 2, 1, L); },
               "slice 2..<1 is out of range for axis 0 of size 3");
  checkFailure(
      [] {
        dlrt_t_slice_backward(dlrt_t_full(DLRT_F32, ints({2}), 0, L),
                              dlrt_t_full(DLRT_F32, ints({3}), 0, L), 0, 1, L);
      },
      "shape mismatch in 'slice_backward': [2] vs [1]");
}

// --- Random numbers ---------------------------------------------------------------

TEST_CASE("random numbers are deterministic and well distributed") {
  Scope s;
  dlrt_seed(42);
  auto a = valuesOf<float>(s(dlrt_t_randn(DLRT_F32, ints({100}), L)));
  auto u = valuesOf<double>(s(dlrt_t_rand(DLRT_F64, ints({50}), L)));
  dlrt_seed(42);
  CHECK(valuesOf<float>(s(dlrt_t_randn(DLRT_F32, ints({100}), L))) == a);
  CHECK(valuesOf<double>(s(dlrt_t_rand(DLRT_F64, ints({50}), L))) == u);
  dlrt_seed(43);
  CHECK(valuesOf<float>(s(dlrt_t_randn(DLRT_F32, ints({100}), L))) != a);

  dlrt_seed(1);
  auto n = valuesOf<double>(s(dlrt_t_randn(DLRT_F64, ints({100000}), L)));
  double mean = 0, sq = 0, withinOne = 0;
  for (double x : n) {
    mean += x;
    sq += x * x;
    withinOne += std::fabs(x) < 1;
  }
  mean /= 100000;
  double sd = std::sqrt(sq / 100000 - mean * mean);
  CHECK(std::fabs(mean) < 0.02);
  CHECK(std::fabs(sd - 1) < 0.02);
  CHECK(std::fabs(withinOne / 100000 - 0.6827) < 0.01);

  auto r = valuesOf<float>(s(dlrt_t_rand(DLRT_F32, ints({100000}), L)));
  double rmean = 0;
  int64_t outside = 0;
  for (float x : r) {
    outside += !(x >= 0 && x < 1);
    rmean += x;
  }
  CHECK(outside == 0);
  CHECK(std::fabs(rmean / 100000 - 0.5) < 0.01);

  auto g = valuesOf<float>(s(dlrt_t_glorot(DLRT_F32, ints({100, 200}), L)));
  double limit = std::sqrt(6.0 / 300);
  float largest = 0;
  for (float x : g)
    largest = std::max(largest, std::fabs(x));
  CHECK(largest <= static_cast<float>(limit));
  CHECK(largest > 0.99 * limit);
  auto g1 = valuesOf<double>(s(dlrt_t_glorot(DLRT_F64, ints({50}), L)));
  double largest1 = 0;
  for (double x : g1)
    largest1 = std::max(largest1, std::fabs(x));
  CHECK(largest1 <= std::sqrt(6.0 / 100));
  CHECK(largest1 > 0.8 * std::sqrt(6.0 / 100));
}

// --- Ownership and the cache ------------------------------------------------------

TEST_CASE("retain, release, unique and the live count") {
  int64_t start = dlrt_t_live_count();
  DlTensor *t = dlrt_t_full(DLRT_F64, ints({4}), 1, L);
  CHECK(dlrt_t_live_count() == start + 1);
  dlrt_t_retain(t);
  CHECK(t->refcount == 2);
  DlTensor *u = dlrt_t_unique(t); // shared: a copy, and t released once
  CHECK(u != t);
  CHECK(u->refcount == 1);
  CHECK(t->refcount == 1);
  CHECK(valuesOf<double>(u) == valuesOf<double>(t));
  CHECK(dlrt_t_unique(u) == u);
  CHECK(dlrt_t_live_count() == start + 2);
  dlrt_t_release(t);
  dlrt_t_release(u);
  CHECK(dlrt_t_live_count() == start);
  dlrt_t_retain(nullptr);
  dlrt_t_release(nullptr);

  // Immortal tensors (constants) are never counted or freed.
  alignas(64) static float data[2] = {1, 2};
  DlTensor immortal{};
  immortal.refcount = DLRT_IMMORTAL;
  immortal.kind = DLRT_F32;
  immortal.rank = 1;
  immortal.count = 2;
  immortal.data = data;
  immortal.shape[0] = 2;
  dlrt_t_retain(&immortal);
  dlrt_t_release(&immortal);
  dlrt_t_release(&immortal);
  CHECK(immortal.refcount == DLRT_IMMORTAL);
  DlTensor *doubled = dlrt_t_binary(DLRT_ADD, &immortal, &immortal, L);
  CHECK(valuesOf<float>(doubled) == std::vector<float>{2, 4});
  dlrt_t_release(doubled);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("released buffers are reused from the cache") {
  Scope s;
  DlTensor *a = dlrt_t_full(DLRT_F32, ints({1000}), 0, L);
  void *buffer = a->data;
  CHECK(reinterpret_cast<uintptr_t>(buffer) % 64 == 0);
  dlrt_t_release(a);
  int64_t held = dlrt_t_cached_bytes();
  CHECK(held >= 4000);
  // 975 floats are in the same size class as 1000.
  DlTensor *b = s(dlrt_t_full(DLRT_F32, ints({975}), 0, L));
  CHECK(b->data == buffer);
  CHECK(dlrt_t_cached_bytes() == held);
  // A loop of same-sized temporaries holds no more memory than one of them.
  for (int i = 0; i < 100; ++i)
    dlrt_t_release(dlrt_t_binary(DLRT_ADD, b, b, L));
  int64_t afterLoop = dlrt_t_cached_bytes();
  for (int i = 0; i < 100; ++i)
    dlrt_t_release(dlrt_t_binary(DLRT_ADD, b, b, L));
  CHECK(dlrt_t_cached_bytes() == afterLoop);
}

// --- Printing ---------------------------------------------------------------------

TEST_CASE("printing tensors") {
  Scope s;
  CHECK(printed(nullptr) == "Tensor(0)");
  CHECK(printed(s(dlrt_t_scalar(DLRT_F32, 3.5))) == "Tensor(3.5, shape: [])");
  CHECK(printed(s(make<float>({3}, {1, 2.5f, 3}))) == "Tensor([1, 2.5, 3], shape: [3])");
  CHECK(printed(s(make<float>({2, 2}, {1, 2.5f, -3, 4}))) == "Tensor([[ 1, 2.5],\n"
                                                             "        [-3,   4]], shape: [2, 2])");
  CHECK(printed(s(make<int64_t>({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}))) ==
        "Tensor([[[0, 1],\n"
        "         [2, 3]],\n"
        "\n"
        "        [[4, 5],\n"
        "         [6, 7]]], shape: [2, 2, 2])");
  CHECK(printed(s(make<uint8_t>({2, 2}, {1, 0, 0, 1}))) ==
        "Tensor([[ true, false],\n"
        "        [false,  true]], shape: [2, 2])");
  CHECK(printed(s(make<uint8_t>({2}, {1, 0}))) == "Tensor([true, false], shape: [2])");
  // Each column is as wide as its widest entry.
  CHECK(printed(s(make<int64_t>({3, 2}, {1, 100, 22, 3, -4, 5}))) ==
        "Tensor([[ 1, 100],\n"
        "        [22,   3],\n"
        "        [-4,   5]], shape: [3, 2])");
  CHECK(printed(s(make<int64_t>({3}, {-1, 20, 300}))) == "Tensor([-1, 20, 300], shape: [3])");
  CHECK(printed(s(make<double>({3}, {0.1, 1e-07, 0.30000000000000004}))) ==
        "Tensor([0.1, 1e-07, 0.30000000000000004], shape: [3])");
  CHECK(printed(s(make<float>({2}, {0.1f, -INFINITY}))) == "Tensor([0.1, -inf], shape: [2])");
  CHECK(printed(s(dlrt_t_full(DLRT_F32, ints({0}), 0, L))) == "Tensor([], shape: [0])");
  CHECK(printed(s(dlrt_t_full(DLRT_F32, ints({2, 0}), 0, L))) == "Tensor([[],\n"
                                                                 "        []], shape: [2, 0])");
  CHECK(printed(s(make<double>({1, 1, 1, 1}, {2}))) == "Tensor([[[[2]]]], shape: [1, 1, 1, 1])");
}

TEST_CASE("printing summarizes tensors of more than 1000 elements") {
  Scope s;
  DlTensor *flat = s(dlrt_t_arange(DLRT_F32, 2000, L));
  CHECK(printed(flat) == "Tensor([0, 1, 2, ..., 1997, 1998, 1999], shape: [2000])");
  CHECK(printed(s(dlrt_t_arange(DLRT_I64, 1000, L))).size() > 3000); // 1000: not summarized

  DlTensor *m = s(dlrt_t_reshape(s(dlrt_t_arange(DLRT_I64, 2000, L)), ints({40, 50}), L));
  CHECK(printed(m) == "Tensor([[   0,    1,    2, ...,   47,   48,   49],\n"
                      "        [  50,   51,   52, ...,   97,   98,   99],\n"
                      "        [ 100,  101,  102, ...,  147,  148,  149],\n"
                      "        ...,\n"
                      "        [1850, 1851, 1852, ..., 1897, 1898, 1899],\n"
                      "        [1900, 1901, 1902, ..., 1947, 1948, 1949],\n"
                      "        [1950, 1951, 1952, ..., 1997, 1998, 1999]], shape: [40, 50])");

  DlTensor *c = s(dlrt_t_reshape(s(dlrt_t_arange(DLRT_I64, 1200, L)), ints({2, 3, 200}), L));
  CHECK(printed(c) == "Tensor([[[   0,    1,    2, ...,  197,  198,  199],\n"
                      "         [ 200,  201,  202, ...,  397,  398,  399],\n"
                      "         [ 400,  401,  402, ...,  597,  598,  599]],\n"
                      "\n"
                      "        [[ 600,  601,  602, ...,  797,  798,  799],\n"
                      "         [ 800,  801,  802, ...,  997,  998,  999],\n"
                      "         [1000, 1001, 1002, ..., 1197, 1198, 1199]]], shape: [2, 3, 200])");

  // An outer axis summarized: "...," on a line of its own between blank lines.
  DlTensor *d = s(dlrt_t_reshape(s(dlrt_t_arange(DLRT_I64, 1120, L)), ints({8, 2, 70}), L));
  auto row = [](int start) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "[%4d, %4d, %4d, ..., %4d, %4d, %4d]", start, start + 1,
                  start + 2, start + 67, start + 68, start + 69);
    return std::string(buf);
  };
  auto block = [&](int b) { return "[" + row(b * 140) + ",\n         " + row(b * 140 + 70) + "]"; };
  std::string want = "Tensor([" + block(0) + ",\n\n        " + block(1) + ",\n\n        " +
                     block(2) + ",\n\n        ...,\n\n        " + block(5) + ",\n\n        " +
                     block(6) + ",\n\n        " + block(7) + "], shape: [8, 2, 70])";
  CHECK(printed(d) == want);
}
