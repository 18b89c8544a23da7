// Unit tests for the runtime's thread pool (runtime/threads.c) and the
// elementwise tensor operations split across it (runtime/tensor_ops.c):
// dlrtParallelFor covers every index exactly once, in ranges that depend only
// on its inputs, with every thread of the pool taking part; nested and
// concurrent calls and forked children work; and large unary, binary,
// broadcast, in-place and where operations, and convolution and pooling,
// give bit-identical results with 1, 2, 3 and 4 threads.
#include "runtime/dlrt.h"
#include "runtime/tensor_internal.h"

#include <doctest/doctest.h>

#include "tests/unit/ChildProcess.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

constexpr const char *L = "t.dl:1:2";

// Sets the pool's thread count for a scope, then restores the default.
struct Threads {
  explicit Threads(int n) { dlrtSetThreadCountForTests(n); }
  ~Threads() { dlrtSetThreadCountForTests(0); }
  Threads(const Threads &) = delete;
  Threads &operator=(const Threads &) = delete;
};

// What one dlrtParallelFor call did: how often each index was visited, the
// ranges, and the threads they ran on.
struct Coverage {
  explicit Coverage(int64_t n) : hits(new std::atomic<int>[static_cast<size_t>(n)]()), n(n) {}
  std::unique_ptr<std::atomic<int>[]> hits;
  int64_t n;
  std::mutex lock;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::set<std::thread::id> threads;

  bool eachOnce() const {
    for (int64_t i = 0; i < n; ++i)
      if (hits[i].load() != 1)
        return false;
    return true;
  }
  // The ranges in order, each starting where the previous one ended.
  std::vector<std::pair<int64_t, int64_t>> sortedRanges() {
    std::vector<std::pair<int64_t, int64_t>> r = ranges;
    std::sort(r.begin(), r.end());
    return r;
  }
};

void cover(void *p, int64_t begin, int64_t end) {
  auto *c = static_cast<Coverage *>(p);
  for (int64_t i = begin; i < end; ++i)
    c->hits[i].fetch_add(1);
  std::lock_guard<std::mutex> guard(c->lock);
  c->ranges.push_back({begin, end});
  c->threads.insert(std::this_thread::get_id());
}

// Enough work per item that any n >= 2 is split, into as many ranges as the
// pool hands out: up to 4 per thread (threads.c's kRangesPerThread).
constexpr int64_t kHeavy = DLRT_PARALLEL_MIN_WORK;
constexpr int64_t kRangesPerThread = 4;

void checkContiguous(Coverage &c) {
  auto r = c.sortedRanges();
  REQUIRE(!r.empty());
  CHECK(r.front().first == 0);
  CHECK(r.back().second == c.n);
  for (size_t i = 1; i < r.size(); ++i)
    CHECK(r[i].first == r[i - 1].second);
  for (const auto &range : r)
    CHECK(range.first < range.second);
}

// --- Tensors ------------------------------------------------------------------------

DlTensor *tensor(int32_t kind, const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  DlArray *a = dlrt_array_new(sizeof(int64_t), static_cast<int64_t>(shape.size()));
  if (!shape.empty())
    std::memcpy(reinterpret_cast<char *>(a) + DLRT_ARRAY_HEADER_SIZE, shape.data(),
                shape.size() * sizeof(int64_t));
  DlTensor *t = dlrt_t_full(kind, a, 0, L);
  dlrt_array_free(a);
  REQUIRE(t->count == count);
  return t;
}

// Random elements, with some NaNs, infinities and signed zeros among the
// floats (their bit patterns must survive every split too).
DlTensor *randomTensor(int32_t kind, const std::vector<int64_t> &shape, uint32_t seed) {
  DlTensor *t = tensor(kind, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(-3, 3);
  for (int64_t i = 0; i < t->count; ++i) {
    double x = dist(rng);
    if (i % 997 == 5)
      x = std::numeric_limits<double>::quiet_NaN();
    else if (i % 1009 == 7)
      x = (i % 2 ? 1 : -1) * std::numeric_limits<double>::infinity();
    else if (i % 1013 == 11)
      x = -0.0;
    switch (kind) {
    case DLRT_F32:
      static_cast<float *>(t->data)[i] = static_cast<float>(x);
      break;
    case DLRT_F64:
      static_cast<double *>(t->data)[i] = x;
      break;
    case DLRT_I64: {
      int64_t v = static_cast<int64_t>(rng() % 2001) - 1000;
      static_cast<int64_t *>(t->data)[i] = v == 0 ? 1 : v; // usable as divisors
      break;
    }
    case DLRT_BOOL:
      static_cast<uint8_t *>(t->data)[i] = rng() % 2;
      break;
    }
  }
  return t;
}

bool sameBits(const DlTensor *a, const DlTensor *b) {
  if (!a || !b || a->kind != b->kind || a->rank != b->rank || a->count != b->count)
    return false;
  for (int32_t i = 0; i < a->rank; ++i)
    if (a->shape[i] != b->shape[i])
      return false;
  return std::memcmp(a->data, b->data, static_cast<size_t>(a->count * dlrtKindSize(a->kind))) == 0;
}

// Runs `op` (which returns a new tensor) with one thread, then with 2, 3 and
// 4, and checks that every result has the same bits as the first.
void checkSameAcrossThreadCounts(const std::function<DlTensor *()> &op, const char *what) {
  DlTensor *want;
  {
    Threads one(1);
    want = op();
  }
  for (int n : {2, 3, 4}) {
    Threads many(n);
    DlTensor *got = op();
    CHECK_MESSAGE(sameBits(got, want), what << " with " << n << " threads");
    dlrt_t_release(got);
  }
  dlrt_t_release(want);
}

const int32_t kFloatUnary[] = {DLRT_NEG,     DLRT_EXP,  DLRT_LOG,  DLRT_LOG1P, DLRT_SQRT,
                               DLRT_RSQRT,   DLRT_ABS,  DLRT_SIN,  DLRT_COS,   DLRT_TANH,
                               DLRT_SIGMOID, DLRT_RELU, DLRT_SIGN, DLRT_FLOOR, DLRT_CEIL,
                               DLRT_ROUND,   DLRT_STEP};

} // namespace

TEST_CASE("dlrtThreadCount: at least one, the test override, then the default again") {
  int initial = dlrtThreadCount();
  CHECK(initial >= 1);
  CHECK(initial <= 64);
  {
    Threads three(3);
    CHECK(dlrtThreadCount() == 3);
  }
  {
    Threads many(1000);
    CHECK(dlrtThreadCount() == 64);
  }
  CHECK(dlrtThreadCount() == initial);
}

TEST_CASE("dlrtParallelFor covers every index exactly once, in balanced contiguous ranges") {
  for (int threads : {1, 2, 3, 4, 7}) {
    Threads scope(threads);
    for (int64_t n : {0, 1, 2, 3, 5, 7, 63, 64, 65, 1000, 4097, 100003}) {
      CAPTURE(threads);
      CAPTURE(n);
      Coverage c(n);
      dlrtParallelFor(n, kHeavy, cover, &c);
      CHECK(c.eachOnce());
      if (n == 0) {
        CHECK(c.ranges.empty());
        continue;
      }
      checkContiguous(c);
      int64_t expected = threads == 1 ? 1 : std::min<int64_t>(threads * kRangesPerThread, n);
      CHECK(static_cast<int64_t>(c.ranges.size()) == expected);
      CHECK(static_cast<int64_t>(c.threads.size()) <= threads);
      if (threads == 1)
        CHECK(c.threads.count(std::this_thread::get_id()) == 1);
      // Balanced: sizes differ by at most one.
      int64_t lo = n, hi = 0;
      for (const auto &range : c.ranges) {
        lo = std::min(lo, range.second - range.first);
        hi = std::max(hi, range.second - range.first);
      }
      CHECK(hi - lo <= 1);
    }
  }
}

namespace {
// Each range waits (up to 20 s) until `want` threads have entered one, so
// the call can only finish quickly if that many threads take part.
struct Rendezvous {
  std::mutex lock;
  std::condition_variable arrived;
  std::set<std::thread::id> threads;
  size_t want = 0;
  bool timedOut = false;
};

void meet(void *p, int64_t, int64_t) {
  auto *r = static_cast<Rendezvous *>(p);
  std::unique_lock<std::mutex> guard(r->lock);
  r->threads.insert(std::this_thread::get_id());
  r->arrived.notify_all();
  if (!r->arrived.wait_for(guard, std::chrono::seconds(20),
                           [r] { return r->threads.size() >= r->want; }))
    r->timedOut = true;
}
} // namespace

TEST_CASE("dlrtParallelFor: every thread of the pool takes part") {
  for (int threads : {2, 4}) {
    Threads scope(threads);
    Rendezvous r;
    r.want = static_cast<size_t>(threads);
    dlrtParallelFor(threads * kRangesPerThread, kHeavy, meet, &r);
    CHECK(!r.timedOut);
    CHECK(r.threads.size() == static_cast<size_t>(threads));
    CHECK(r.threads.count(std::this_thread::get_id()) == 1);
  }
}

TEST_CASE("dlrtParallelFor: small work runs on the calling thread; the split is deterministic") {
  Threads four(4);
  {
    // 1000 items of one unit each: far below the threshold.
    Coverage c(1000);
    dlrtParallelFor(1000, 1, cover, &c);
    CHECK(c.eachOnce());
    REQUIRE(c.ranges.size() == 1);
    CHECK(c.threads.count(std::this_thread::get_id()) == 1);
  }
  {
    // Just below the threshold: one range; at it: split, but not into all
    // 16 ranges four threads could take.
    Coverage below(DLRT_PARALLEL_MIN_WORK - 1), at(DLRT_PARALLEL_MIN_WORK);
    dlrtParallelFor(DLRT_PARALLEL_MIN_WORK - 1, 1, cover, &below);
    dlrtParallelFor(DLRT_PARALLEL_MIN_WORK, 1, cover, &at);
    CHECK(below.eachOnce());
    CHECK(below.ranges.size() == 1);
    CHECK(at.eachOnce());
    CHECK(at.ranges.size() > 1);
    CHECK(at.ranges.size() < 4 * kRangesPerThread);
  }
  {
    // The same call splits the same way every time.
    Coverage first(100003), second(100003);
    dlrtParallelFor(100003, kHeavy, cover, &first);
    dlrtParallelFor(100003, kHeavy, cover, &second);
    CHECK(first.sortedRanges() == second.sortedRanges());
  }
  {
    // Huge costs do not overflow into "small".
    Coverage c(8);
    dlrtParallelFor(8, std::numeric_limits<int64_t>::max() / 2, cover, &c);
    CHECK(c.eachOnce());
    CHECK(c.ranges.size() == 8);
  }
}

namespace {
struct Nested {
  std::atomic<int> innerRanges{0};
  std::atomic<int> innerElsewhere{0}; // inner ranges run off the outer range's thread
  std::atomic<int64_t> innerItems{0};
};

void inner(void *p, int64_t begin, int64_t end) {
  auto *pair = static_cast<std::pair<Nested *, std::thread::id> *>(p);
  pair->first->innerRanges.fetch_add(1);
  pair->first->innerItems.fetch_add(end - begin);
  if (std::this_thread::get_id() != pair->second)
    pair->first->innerElsewhere.fetch_add(1);
}

void outer(void *p, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    std::pair<Nested *, std::thread::id> ctx{static_cast<Nested *>(p), std::this_thread::get_id()};
    dlrtParallelFor(1000, kHeavy, inner, &ctx);
  }
}
} // namespace

TEST_CASE("dlrtParallelFor: nested calls run inline on the calling range's thread") {
  Threads four(4);
  Nested nested;
  dlrtParallelFor(8, kHeavy, outer, &nested);
  CHECK(nested.innerRanges.load() == 8); // one whole range per inner call
  CHECK(nested.innerItems.load() == 8 * 1000);
  CHECK(nested.innerElsewhere.load() == 0);
  // The pool still works afterwards.
  Coverage c(5000);
  dlrtParallelFor(5000, kHeavy, cover, &c);
  CHECK(c.eachOnce());
  CHECK(c.ranges.size() == 4 * kRangesPerThread);
}

TEST_CASE("dlrtParallelFor: concurrent callers are serialized, each call complete") {
  Threads three(3);
  std::atomic<int> bad{0};
  auto caller = [&bad](int64_t n) {
    for (int round = 0; round < 200; ++round) {
      Coverage c(n + round);
      dlrtParallelFor(n + round, kHeavy, cover, &c);
      if (!c.eachOnce())
        bad.fetch_add(1);
    }
  };
  std::thread t1(caller, 777), t2(caller, 1234);
  caller(99);
  t1.join();
  t2.join();
  CHECK(bad.load() == 0);
}

TEST_CASE("dlrtParallelFor: a forked child starts its own workers") {
  Threads four(4);
  Rendezvous warm;
  warm.want = 4;
  dlrtParallelFor(16, kHeavy, meet, &warm); // the parent's workers exist
  REQUIRE(warm.threads.size() == 4);
  dlc::testing::ChildResult r = dlc::testing::runInChild([] {
    Coverage c(100);
    dlrtParallelFor(100, kHeavy, cover, &c);
    Rendezvous all;
    all.want = 4;
    dlrtParallelFor(16, kHeavy, meet, &all);
    _exit(c.eachOnce() && !all.timedOut && all.threads.size() == 4 ? 0 : 1);
  });
  CHECK(r.exitStatus == 0);
}

TEST_CASE("large unary operations: the same bits with any thread count") {
  int64_t start = dlrt_t_live_count();
  for (int32_t kind : {DLRT_F32, DLRT_F64}) {
    DlTensor *x = randomTensor(kind, {1000000}, 1);
    for (int32_t op : kFloatUnary) {
      CAPTURE(kind);
      CAPTURE(op);
      checkSameAcrossThreadCounts([&] { return dlrt_t_unary(op, x, L); }, "unary");
      // In place: the owned operand is a fresh copy each time.
      checkSameAcrossThreadCounts(
          [&] {
            DlTensor *own = dlrt_t_unary(DLRT_NEG, x, L);
            DlTensor *r = dlrt_t_unary_owned(op, own, L);
            CHECK(r == own);
            return r;
          },
          "unary in place");
      // ... and the same as into a new buffer (sigmoid once read its input
      // after overwriting it).
      {
        DlTensor *negated = dlrt_t_unary(DLRT_NEG, x, L);
        DlTensor *separate = dlrt_t_unary(op, negated, L);
        DlTensor *inPlace = dlrt_t_unary_owned(op, dlrt_t_unary(DLRT_NEG, x, L), L);
        CHECK_MESSAGE(sameBits(inPlace, separate), "in place vs separate");
        dlrt_t_release(negated);
        dlrt_t_release(separate);
        dlrt_t_release(inPlace);
      }
    }
    dlrt_t_release(x);
  }
  DlTensor *xi = randomTensor(DLRT_I64, {1000, 1001}, 2);
  for (int32_t op : {DLRT_NEG, DLRT_ABS, DLRT_SIGN, DLRT_RELU, DLRT_STEP})
    checkSameAcrossThreadCounts([&] { return dlrt_t_unary(op, xi, L); }, "Int unary");
  dlrt_t_release(xi);
  DlTensor *xb = randomTensor(DLRT_BOOL, {1000000}, 3);
  checkSameAcrossThreadCounts([&] { return dlrt_t_unary(DLRT_NOT, xb, L); }, "Bool !");
  dlrt_t_release(xb);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("convolution and pooling, both passes: the same bits with any thread count") {
  int64_t start = dlrt_t_live_count();
  for (int32_t kind : {DLRT_F32, DLRT_F64}) {
    CAPTURE(kind);
    // Several chunks of the column matrix, images split across them.
    DlTensor *x = randomTensor(kind, {24, 30, 30, 16}, 4);
    DlTensor *filter = randomTensor(kind, {3, 3, 16, 8}, 5);
    DlTensor *y = dlrt_t_conv2d(x, filter, 1, 1, L);
    DlTensor *g = randomTensor(kind, {24, 30, 30, 8}, 6);
    checkSameAcrossThreadCounts([&] { return dlrt_t_conv2d(x, filter, 1, 1, L); }, "conv2d");
    checkSameAcrossThreadCounts(
        [&] { return dlrt_t_conv2d_backward_input(g, x, filter, 1, 1, L); }, "conv2d dx");
    checkSameAcrossThreadCounts(
        [&] { return dlrt_t_conv2d_backward_filter(g, x, filter, 1, 1, L); }, "conv2d dfilter");
    for (int32_t op : {DLRT_POOL_MAX, DLRT_POOL_AVG}) {
      CAPTURE(op);
      DlTensor *gp = randomTensor(kind, {24, 15, 15, 16}, 7);
      checkSameAcrossThreadCounts([&] { return dlrt_t_pool2d(op, x, 2, 2, 0, L); }, "pool");
      checkSameAcrossThreadCounts([&] { return dlrt_t_pool2d_backward(op, gp, x, 2, 2, 0, L); },
                                  "pool backward");
      // Overlapping windows (stride 1, padding 1) accumulate within an image.
      DlTensor *gs = randomTensor(kind, {24, 30, 30, 16}, 9);
      checkSameAcrossThreadCounts([&] { return dlrt_t_pool2d_backward(op, gs, x, 3, 1, 1, L); },
                                  "pool backward, overlapping windows");
      dlrt_t_release(gp);
      dlrt_t_release(gs);
    }
    dlrt_t_release(x);
    dlrt_t_release(filter);
    dlrt_t_release(y);
    dlrt_t_release(g);
  }
  // Float with 32 output channels from 16: the tiled kernels of
  // tensor_conv.c at each level the CPU has (pixel tiles for the forward
  // pass and the input adjoint, groups of 2 images for the filter's).
  DlTensor *x = randomTensor(DLRT_F32, {20, 12, 12, 16}, 10);
  DlTensor *filter = randomTensor(DLRT_F32, {3, 3, 16, 32}, 11);
  DlTensor *g = randomTensor(DLRT_F32, {20, 12, 12, 32}, 12);
  dlrtSetConvLevelForTests(-1);
  for (int level = dlrtConvLevel(); level >= 3; --level) {
    CAPTURE(level);
    dlrtSetConvLevelForTests(level);
    checkSameAcrossThreadCounts([&] { return dlrt_t_conv2d(x, filter, 1, 1, L); }, "tiled conv2d");
    checkSameAcrossThreadCounts([&] { return dlrt_t_conv2d_backward_input(g, x, filter, 1, 1, L); },
                                "tiled conv2d dx");
    checkSameAcrossThreadCounts(
        [&] { return dlrt_t_conv2d_backward_filter(g, x, filter, 1, 1, L); },
        "tiled conv2d dfilter");
  }
  dlrtSetConvLevelForTests(-1);
  dlrt_t_release(x);
  dlrt_t_release(filter);
  dlrt_t_release(g);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("large binary operations and broadcasts: the same bits with any thread count") {
  int64_t start = dlrt_t_live_count();
  struct Shapes {
    std::vector<int64_t> a, b;
  };
  // Same shapes; a row suffix on either side; a column ([1000, 1]) and outer
  // broadcasts through the general walk; scalars on either side.
  const Shapes cases[] = {
      {{1000000}, {1000000}},
      {{1000, 513}, {513}},
      {{513}, {1000, 513}},
      {{1000, 1}, {1000, 513}},
      {{1000, 513}, {1000, 1}},
      {{1000, 1}, {1, 513}},
      {{10, 1, 513}, {1, 200, 513}},
      {{1000, 513}, {}},
      {{}, {1000, 513}},
      {{1000, 513}, {1}},
  };
  const int32_t floatOps[] = {DLRT_ADD, DLRT_SUB, DLRT_MUL, DLRT_DIV, DLRT_POW,
                              DLRT_MIN, DLRT_MAX, DLRT_EQ,  DLRT_LT};
  for (const Shapes &s : cases) {
    for (int32_t kind : {DLRT_F32, DLRT_F64, DLRT_I64}) {
      DlTensor *a = randomTensor(kind, s.a, 4);
      DlTensor *b = randomTensor(kind, s.b, 5);
      for (int32_t op : floatOps) {
        if (kind == DLRT_I64 && op == DLRT_POW)
          continue;
        CAPTURE(kind);
        CAPTURE(op);
        CAPTURE(s.a.size());
        CAPTURE(s.b.size());
        checkSameAcrossThreadCounts([&] { return dlrt_t_binary(op, a, b, L); }, "binary");
      }
      dlrt_t_release(a);
      dlrt_t_release(b);
    }
  }
  DlTensor *p = randomTensor(DLRT_BOOL, {1000, 513}, 6);
  DlTensor *q = randomTensor(DLRT_BOOL, {513}, 7);
  for (int32_t op : {DLRT_AND, DLRT_OR, DLRT_NE})
    checkSameAcrossThreadCounts([&] { return dlrt_t_binary(op, p, q, L); }, "Bool binary");
  dlrt_t_release(p);
  dlrt_t_release(q);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("large in-place binary operations: the same bits with any thread count") {
  int64_t start = dlrt_t_live_count();
  DlTensor *x = randomTensor(DLRT_F32, {1000, 513}, 8);
  DlTensor *row = randomTensor(DLRT_F32, {513}, 9);
  DlTensor *col = randomTensor(DLRT_F32, {1000, 1}, 10);
  for (int32_t op : {DLRT_ADD, DLRT_MUL, DLRT_SUB, DLRT_POW}) {
    CAPTURE(op);
    for (const DlTensor *other : {x, row, col}) {
      // Into a (which == 0) and into b (which == 1), the other operand
      // broadcast or not.
      checkSameAcrossThreadCounts(
          [&] {
            DlTensor *own = dlrt_t_unary(DLRT_ABS, x, L);
            DlTensor *r = dlrt_t_binary_owned(op, own, const_cast<DlTensor *>(other), 0, L);
            CHECK(r == own);
            return r;
          },
          "in place into a");
      checkSameAcrossThreadCounts(
          [&] {
            DlTensor *own = dlrt_t_unary(DLRT_ABS, x, L);
            DlTensor *r = dlrt_t_binary_owned(op, const_cast<DlTensor *>(other), own, 1, L);
            CHECK(r == own);
            return r;
          },
          "in place into b");
    }
  }
  dlrt_t_release(x);
  dlrt_t_release(row);
  dlrt_t_release(col);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("large where: the same bits with any thread count") {
  int64_t start = dlrt_t_live_count();
  DlTensor *c = randomTensor(DLRT_BOOL, {1000, 513}, 11);
  DlTensor *cRow = randomTensor(DLRT_BOOL, {513}, 12);
  for (int32_t kind : {DLRT_F32, DLRT_F64, DLRT_BOOL}) {
    DlTensor *a = randomTensor(kind, {1000, 513}, 13);
    DlTensor *aCol = randomTensor(kind, {1000, 1}, 14);
    DlTensor *b = randomTensor(kind, {1000, 513}, 15);
    DlTensor *bRow = randomTensor(kind, {513}, 16);
    CAPTURE(kind);
    checkSameAcrossThreadCounts([&] { return dlrt_t_where(c, a, b, L); }, "where");
    checkSameAcrossThreadCounts([&] { return dlrt_t_where(c, aCol, bRow, L); }, "where bcast");
    checkSameAcrossThreadCounts([&] { return dlrt_t_where(cRow, aCol, b, L); }, "where bcast c");
    checkSameAcrossThreadCounts([&] { return dlrt_t_where(c, a, nullptr, L); }, "where zero");
    dlrt_t_release(a);
    dlrt_t_release(aCol);
    dlrt_t_release(b);
    dlrt_t_release(bRow);
  }
  dlrt_t_release(c);
  dlrt_t_release(cRow);
  CHECK(dlrt_t_live_count() == start);
}

TEST_CASE("large operations: against the reference, and errors before any split") {
  Threads four(4);
  int64_t start = dlrt_t_live_count();
  // [1000, 1] * [1000, 513] element by element against plain C++.
  DlTensor *col = randomTensor(DLRT_F32, {1000, 1}, 17);
  DlTensor *x = randomTensor(DLRT_F32, {1000, 513}, 18);
  DlTensor *r = dlrt_t_binary(DLRT_MUL, col, x, L);
  const float *pc = static_cast<const float *>(col->data);
  const float *px = static_cast<const float *>(x->data);
  const float *pr = static_cast<const float *>(r->data);
  int64_t wrong = 0;
  for (int64_t i = 0; i < 1000; ++i)
    for (int64_t j = 0; j < 513; ++j) {
      float want = pc[i] * px[i * 513 + j];
      float got = pr[i * 513 + j];
      wrong += std::memcmp(&want, &got, sizeof got) != 0 && !(std::isnan(want) && std::isnan(got));
    }
  CHECK(wrong == 0);
  dlrt_t_release(r);
  dlrt_t_release(col);
  dlrt_t_release(x);
  CHECK(dlrt_t_live_count() == start);

  // Failures come from the calling thread, before the work is split.
  dlc::testing::ChildResult child = dlc::testing::runInChild([] {
    DlTensor *a = tensor(DLRT_I64, {1000, 1000});
    DlTensor *b = tensor(DLRT_I64, {1000, 1000}); // zeros
    dlrt_t_binary(DLRT_DIV, a, b, L);
  });
  CHECK(child.exitStatus == 1);
  CHECK(child.err == std::string("runtime error: ") + L + ": division by zero\n");
  child = dlc::testing::runInChild([] {
    DlTensor *a = tensor(DLRT_F32, {1000, 1000});
    DlTensor *b = tensor(DLRT_F32, {999, 1000});
    dlrt_t_binary(DLRT_ADD, a, b, L);
  });
  CHECK(child.exitStatus == 1);
  CHECK(child.err == std::string("runtime error: ") + L +
                         ": shape mismatch in '+': [1000, 1000] vs [999, 1000]\n");
}
