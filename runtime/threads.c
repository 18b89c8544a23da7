/* A small persistent thread pool for the tensor kernels: dlrtParallelFor
 * splits an index range into contiguous ranges, runs them on the calling
 * thread and on workers, and returns when all are done.
 *
 * Design, and why:
 *  - The split is fixed (a function of n, the cost and the thread count);
 *    which thread runs which range is not: the caller and the workers that
 *    are awake claim ranges from a shared counter until none are left. A worker
 *    that wakes late (its core busy with another process, or just the
 *    kernel's wake-up latency) then costs nothing: the caller has done its
 *    ranges meanwhile. With a fixed range per thread the caller would wait
 *    for it, and on a loaded machine (measured: the 2-core development box
 *    with a test suite running beside) that made large operations slower
 *    than one thread. Results do not depend on who runs a range.
 *  - Workers start lazily, on the first call that needs them, so programs
 *    that never touch a large tensor never create a thread. They are never
 *    joined: each blocks all signals and sleeps on its own condition
 *    variable between calls, so exit() (or a runtime error) may end the
 *    process at any moment; nothing of theirs needs tearing down. Each
 *    worker having its own wake-up lets a call that uses 2 of 16 threads
 *    wake 1 worker, not 15.
 *  - Sleeping is on condition variables: OpenBLAS runs its own threads for
 *    matmul, and idle workers must not take their cores. Workers poll only
 *    briefly (kSpinNanos, yielding the core meanwhile) before sleeping,
 *    which catches the next operation of a quick succession without a
 *    wake-up through the kernel. Waking a sleeping worker is dear, so it is
 *    done only for large jobs (kWakeWork); smaller ones above the threshold
 *    are shared with workers still polling after a recent job, if any.
 *  - One parallel call at a time (callLock): DL programs are single-threaded,
 *    but a second caller must queue rather than corrupt the job. Calls made
 *    from inside a range (on a worker or on the caller) run inline, which
 *    also keeps callLock from being taken twice.
 *  - fork(): the child has only the forking thread, so a handler forgets the
 *    workers and the child starts its own on its next parallel call (the unit
 *    tests run bodies in forked children). */
#define _GNU_SOURCE /* sched_getaffinity */
#include "runtime/tensor_internal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Beyond this many threads, elementwise kernels are bound by memory
 * bandwidth long before they run out of cores. */
enum { kMaxThreads = 64 };

/* Ranges per thread: more than one, so that when a thread starts late or is
 * preempted the others pick up its share; few, so that claiming costs
 * nothing next to a range's work. */
enum { kRangesPerThread = 4 };

/* Each range gets at least this much work (DLRT_PARALLEL_MIN_WORK's units),
 * so an operation just over the threshold takes a few threads, not all. */
enum { kMinWorkPerRange = DLRT_PARALLEL_MIN_WORK / 4 };

/* Work (DLRT_PARALLEL_MIN_WORK's units) from which sleeping workers are
 * woken. Waking a sleeping thread is dear here: measured on the 2-core
 * development VM, pthread_cond_signal to a worker asleep on an idle core
 * takes the caller 14 us (the kernel wakes the idle virtual CPU), and the
 * worker runs 40 us after it. An F32 add of [256, 512] (128K units, 16 us
 * alone) was 2.5x slower for it; [512, 512] (256K units, 94 us out of
 * cache) 1.1-1.2x faster. Below this, only workers still polling after a
 * recent job (kSpinNanos) take part, which costs no system call: [256, 512]
 * then runs 1.2-1.3x faster than alone. */
enum { kWakeWork = 4 * DLRT_PARALLEL_MIN_WORK };

/* How long a worker polls for the next job after one ends, before it
 * sleeps: long enough to catch the next operation of a quick succession (an
 * F32 add of [512, 512], 94 us alone, took 25-35 us with the worker polling
 * and 80 us with it asleep), short enough that an idle pool soon leaves the
 * cores to OpenBLAS's threads. */
enum { kSpinNanos = 20000 };

typedef struct Worker {
  _Alignas(64) pthread_cond_t wake; /* signalled under poolLock when a job is posted for it */
} Worker;

static pthread_mutex_t callLock = PTHREAD_MUTEX_INITIALIZER; /* one parallel call at a time */
static pthread_mutex_t poolLock = PTHREAD_MUTEX_INITIALIZER; /* for sleeping and waking */
static pthread_cond_t doneCond = PTHREAD_COND_INITIALIZER;   /* a worker ended the last range */
static Worker workers[kMaxThreads - 1];
static int started; /* workers created (under callLock) */

/* The current job. Ranges are claimed through one word: the job's number
 * (bits 32..63: sleeping workers wait for it to change), how many workers
 * may help (24..31: those woken, so a thread count lowered for tests is
 * kept), the range count (12..23) and the next range to hand out (0..11).
 * The caller writes the job's fields, then the word (release); a thread that
 * claims a range by compare-and-swap (acquire) sees those fields, and they
 * stay valid until its range is finished, because the caller waits for
 * every range. */
static _Alignas(64) _Atomic uint64_t claimWord;
static void (*jobFn)(void *ctx, int64_t begin, int64_t end);
static void *jobCtx;
static int64_t jobN;
static _Alignas(64) _Atomic int64_t finished; /* ranges of the current job done */

static inline uint32_t jobNumber(uint64_t word) { return (uint32_t)(word >> 32); }
static inline int jobHelpers(uint64_t word) { return (int)((word >> 24) & 0xff); }
static inline int64_t jobRanges(uint64_t word) { return (int64_t)((word >> 12) & 0xfff); }
static inline int64_t nextRange(uint64_t word) { return (int64_t)(word & 0xfff); }

/* True on workers, and on a caller during its call: nested calls then run
 * inline. */
static _Thread_local bool inParallel;

static pthread_once_t initOnce = PTHREAD_ONCE_INIT;
static int defaultCount;          /* DLRT_NUM_THREADS, else the CPUs we may run on */
static _Atomic int countForTests; /* 0: none */

/* --- Thread count ------------------------------------------------------------------ */

static void resetInChild(void);

static void initPool(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
#ifdef CPU_COUNT
  /* A process restricted to fewer CPUs (taskset, a container's cpuset) gains
   * nothing from more threads than it may run at once. */
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 &&
      (cpus < 1 || CPU_COUNT(&set) < cpus))
    cpus = CPU_COUNT(&set);
#endif
  const char *env = getenv("DLRT_NUM_THREADS");
  if (env && *env) {
    char *end;
    long n = strtol(env, &end, 10);
    if (*end == '\0' && n >= 1)
      cpus = n;
  }
  defaultCount = cpus < 1 ? 1 : cpus > kMaxThreads ? kMaxThreads : (int)cpus;
  for (int i = 0; i < kMaxThreads - 1; ++i)
    pthread_cond_init(&workers[i].wake, NULL);
  pthread_atfork(NULL, NULL, resetInChild);
}

int dlrtThreadCount(void) {
  int forTests = atomic_load_explicit(&countForTests, memory_order_relaxed);
  if (forTests > 0)
    return forTests;
  pthread_once(&initOnce, initPool);
  return defaultCount;
}

void dlrtSetThreadCountForTests(int n) {
  pthread_once(&initOnce, initPool); /* registers the fork handler */
  /* Never in the middle of a call: callLock is free between calls. */
  pthread_mutex_lock(&callLock);
  atomic_store_explicit(&countForTests,
                        n < 1             ? 0
                        : n > kMaxThreads ? kMaxThreads
                                          : n,
                        memory_order_relaxed);
  pthread_mutex_unlock(&callLock);
}

/* --- Ranges ------------------------------------------------------------------------- */

/* Range i of `ranges` over [0, n): the first n % ranges ranges get one
 * extra item. */
static void rangeOf(int64_t n, int64_t ranges, int64_t i, int64_t *begin, int64_t *end) {
  int64_t q = n / ranges, rem = n % ranges;
  *begin = i * q + (i < rem ? i : rem);
  *end = *begin + q + (i < rem);
}

/* Claims and runs ranges of the current job until none are left to claim;
 * `self` is 0 on the caller, i + 1 on worker i. Returns true when this
 * thread finished the job's last range. */
static bool runRanges(int self) {
  bool last = false;
  uint64_t word = atomic_load_explicit(&claimWord, memory_order_acquire);
  for (;;) {
    if (nextRange(word) >= jobRanges(word) || self > jobHelpers(word))
      return last;
    if (!atomic_compare_exchange_weak_explicit(&claimWord, &word, word + 1, memory_order_acq_rel,
                                               memory_order_acquire))
      continue; /* `word` now holds the current value */
    int64_t ranges = jobRanges(word), begin, end;
    rangeOf(jobN, ranges, nextRange(word), &begin, &end);
    jobFn(jobCtx, begin, end);
    last = atomic_fetch_add_explicit(&finished, 1, memory_order_acq_rel) + 1 == ranges;
    word = atomic_load_explicit(&claimWord, memory_order_acquire);
  }
}

/* --- Workers ------------------------------------------------------------------------ */

/* One step of a polling loop. sched_yield rather than a pause instruction:
 * a polling thread is runnable, and when the machine is busy (other
 * processes, OpenBLAS's threads) it would take turns on a core with the
 * thread doing the work, the caller's own included. Measured with an F32 add
 * of [128, 512] repeated on the loaded development VM: 5.4-6.9 us with
 * yielding, 6.2-15 us with pause, 7.0 us on one thread. */
static inline void pollStep(void) { sched_yield(); }

static int64_t nowNanos(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The number of the job after `seen`: polled for until kSpinNanos after job
 * `seen` ended, then waited for asleep. The window starts at the end of the
 * job, not when this thread ran out of ranges, or a worker that finished
 * early would be asleep by the time the caller's last range is done and
 * miss the next job. Until the end the wait is short: the ranges still
 * running elsewhere were claimed already. */
static uint32_t waitForJob(Worker *w, uint32_t seen) {
  int64_t deadline = 0;
  for (int i = 1;; ++i) {
    uint64_t word = atomic_load_explicit(&claimWord, memory_order_acquire);
    if (jobNumber(word) != seen)
      return jobNumber(word);
    if (i % 8 == 0 && atomic_load_explicit(&finished, memory_order_relaxed) >= jobRanges(word)) {
      int64_t now = nowNanos();
      if (deadline == 0)
        deadline = now + kSpinNanos;
      else if (now >= deadline)
        break;
    }
    pollStep();
  }
  uint32_t job;
  pthread_mutex_lock(&poolLock);
  while ((job = jobNumber(atomic_load_explicit(&claimWord, memory_order_acquire))) == seen)
    pthread_cond_wait(&w->wake, &poolLock);
  pthread_mutex_unlock(&poolLock);
  return job;
}

static void *workerMain(void *arg) {
  Worker *w = arg;
  int self = (int)(w - workers) + 1;
  inParallel = true;
  uint32_t seen = 0;
  for (;;) {
    seen = waitForJob(w, seen);
    /* The caller may be asleep waiting for the range this worker ends;
     * taking poolLock orders the signal after its check of `finished`. */
    if (runRanges(self)) {
      pthread_mutex_lock(&poolLock);
      pthread_cond_signal(&doneCond);
      pthread_mutex_unlock(&poolLock);
    }
  }
  return NULL;
}

/* Creates workers until `want` exist (under callLock); returns `want`, or
 * fewer when the system refuses threads: the caller then does more of the
 * work itself rather than failing. */
static int ensureWorkers(int want) {
  if (started >= want)
    return want;
  /* Workers inherit the creating thread's signal mask: block everything so
   * signals (SIGINT in the REPL, SIGPIPE) go to the program's own thread. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (started < want) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, workerMain, &workers[started]) != 0)
      break;
    pthread_detach(thread);
    ++started;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return started < want ? started : want;
}

static void resetInChild(void) {
  pthread_mutex_init(&callLock, NULL);
  pthread_mutex_init(&poolLock, NULL);
  pthread_cond_init(&doneCond, NULL);
  for (int i = 0; i < kMaxThreads - 1; ++i)
    pthread_cond_init(&workers[i].wake, NULL);
  atomic_store_explicit(&claimWord, 0, memory_order_relaxed);
  atomic_store_explicit(&finished, 0, memory_order_relaxed);
  started = 0;
}

/* --- Parallel for ----------------------------------------------------------------- */

/* How many ranges [0, n) takes for `work` units: 1 below the threshold or
 * with one thread, else one per kMinWorkPerRange of work, at most
 * kRangesPerThread per thread and one per item. */
static int64_t rangesFor(int64_t n, int64_t work, int threads) {
  if (threads < 2 || n < 2 || work < DLRT_PARALLEL_MIN_WORK)
    return 1;
  int64_t ranges = work / kMinWorkPerRange;
  if (ranges > (int64_t)threads * kRangesPerThread)
    ranges = (int64_t)threads * kRangesPerThread;
  return ranges < n ? ranges : n;
}

void dlrtParallelFor(int64_t n, int64_t costPerItem,
                     void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx) {
  if (n <= 0)
    return;
  if (costPerItem < 1)
    costPerItem = 1;
  if (inParallel || n < DLRT_PARALLEL_MIN_WORK / costPerItem) { /* the common case: small */
    fn(ctx, 0, n);
    return;
  }
  int64_t work = n > INT64_MAX / costPerItem ? INT64_MAX : n * costPerItem;
  int threads = dlrtThreadCount();
  int64_t ranges = rangesFor(n, work, threads);
  if (ranges <= 1) {
    fn(ctx, 0, n);
    return;
  }
  pthread_mutex_lock(&callLock);
  /* One worker per range at most, the caller taking one too. */
  int64_t helpers = ranges < threads ? ranges - 1 : threads - 1;
  helpers = ensureWorkers((int)helpers);
  inParallel = true;
  jobFn = fn;
  jobCtx = ctx;
  jobN = n;
  atomic_store_explicit(&finished, 0, memory_order_relaxed);
  uint64_t previous = atomic_load_explicit(&claimWord, memory_order_relaxed);
  uint64_t word =
      (uint64_t)(jobNumber(previous) + 1) << 32 | (uint64_t)helpers << 24 | (uint64_t)ranges << 12;
  atomic_store_explicit(&claimWord, word, memory_order_release);
  /* Workers still polling see the job by themselves. Sleeping ones are
   * woken only for jobs that repay it; if they miss a smaller job, the caller
   * claims their ranges. Waking under poolLock: a worker reads the job
   * number under the same lock before it sleeps, so it either sees the new
   * job or gets the signal. Signalling a worker that is not asleep costs no
   * system call. */
  if (helpers > 0 && work >= kWakeWork) {
    pthread_mutex_lock(&poolLock);
    for (int64_t i = 0; i < helpers; ++i)
      pthread_cond_signal(&workers[i].wake);
    pthread_mutex_unlock(&poolLock);
  }

  runRanges(0);

  /* Every range is claimed; wait for those still running elsewhere, polling
   * first (they started at most a range's time ago), then asleep. */
  int64_t deadline = 0;
  for (int i = 1; atomic_load_explicit(&finished, memory_order_acquire) != ranges; ++i) {
    if (i % 8 == 0) {
      int64_t now = nowNanos();
      if (deadline == 0)
        deadline = now + kSpinNanos;
      else if (now >= deadline) {
        pthread_mutex_lock(&poolLock);
        while (atomic_load_explicit(&finished, memory_order_acquire) != ranges)
          pthread_cond_wait(&doneCond, &poolLock);
        pthread_mutex_unlock(&poolLock);
        break;
      }
    }
    pollStep();
  }
  inParallel = false;
  pthread_mutex_unlock(&callLock);
}
