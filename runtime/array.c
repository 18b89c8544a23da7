/* DL's arrays: a 32-byte header (refcount, count, capacity, elemSize)
 * followed by the elements, 16-byte aligned. Creation zero-fills, cloning
 * copies the elements' bytes (the compiler retains any references inside),
 * and repeat fills from one element. */
#include "runtime/dlrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(DlArray) == DLRT_ARRAY_HEADER_SIZE, "DlArray header layout");
_Static_assert(DLRT_ARRAY_HEADER_SIZE % 16 == 0, "elements must stay 16-byte aligned");

static void *elements(DlArray *a) { return (char *)a + DLRT_ARRAY_HEADER_SIZE; }
static const void *constElements(const DlArray *a) {
  return (const char *)a + DLRT_ARRAY_HEADER_SIZE;
}

/* An array with `count` elements and room for `capacity`, its elements not
 * initialized. */
static DlArray *allocRaw(int64_t elemSize, int64_t count, int64_t capacity) {
  if (elemSize < 0 || count < 0 || capacity < count)
    dlrt_fail("<runtime>", "out of memory");
  int64_t limit = INT64_MAX - DLRT_ARRAY_HEADER_SIZE - 16;
  if (elemSize > 0 && capacity > limit / elemSize)
    dlrt_fail("<runtime>", "out of memory");
  size_t size = ((size_t)(DLRT_ARRAY_HEADER_SIZE + capacity * elemSize) + 15) & ~(size_t)15;
  DlArray *a = aligned_alloc(16, size);
  if (!a)
    dlrt_fail("<runtime>", "out of memory");
  a->refcount = 1;
  a->count = count;
  a->capacity = capacity;
  a->elemSize = elemSize;
  return a;
}

/* A zeroed array with `count` elements and room for `capacity`. */
static DlArray *allocArray(int64_t elemSize, int64_t count, int64_t capacity) {
  if (elemSize < 0 || count < 0 || capacity < count)
    dlrt_fail("<runtime>", "out of memory");
  int64_t limit = INT64_MAX - DLRT_ARRAY_HEADER_SIZE - 16;
  if (elemSize > 0 && capacity > limit / elemSize)
    dlrt_fail("<runtime>", "out of memory");
  DlArray *a = dlrt_alloc(DLRT_ARRAY_HEADER_SIZE + capacity * elemSize);
  a->refcount = 1;
  a->count = count;
  a->capacity = capacity;
  a->elemSize = elemSize;
  return a;
}

/* Empty arrays are shared, one per element size: generated derivative code
 * creates a great many of them (zero adjoints). They are immortal (refcount
 * -1) and have no capacity, so every write to them goes to a new buffer: a
 * push grows into fresh memory, and set traps on the index. */
enum { kSharedEmptySizes = 65 };
static DlArray sharedEmpty[kSharedEmptySizes];

static bool isShared(const DlArray *a) { return a->refcount < 0; }

DlArray *dlrt_array_new(int64_t elemSize, int64_t count) {
  if (count == 0 && elemSize >= 0 && elemSize < kSharedEmptySizes) {
    DlArray *empty = &sharedEmpty[elemSize];
    empty->refcount = -1;
    empty->elemSize = elemSize;
    return empty;
  }
  return allocArray(elemSize, count, count);
}

DlArray *dlrt_array_clone(const DlArray *a, int64_t extra) {
  int64_t count = a->count;
  if (extra < 0)
    extra = 0;
  if (extra > INT64_MAX - count)
    dlrt_fail("<runtime>", "out of memory");
  int64_t capacity = count + extra;
  /* Growing for an append doubles (at least 4), so a loop of appends that
   * each clone when full costs amortized O(1) per element. */
  if (extra > 0) {
    int64_t doubled = count > INT64_MAX / 2 ? INT64_MAX : 2 * count;
    if (capacity < doubled)
      capacity = doubled;
    if (capacity < 4)
      capacity = 4;
  }
  /* Only the first `count` elements are ever read before being written, so
   * the copy is not zero-filled first. */
  DlArray *copy = allocRaw(a->elemSize, count, capacity);
  if (count > 0 && a->elemSize > 0)
    memcpy(elements(copy), constElements(a), (size_t)(count * a->elemSize));
  return copy;
}

/* Large freed tapes are kept for the next gradient, whose tapes grow to the
 * same sizes: reusing their pages avoids faulting fresh memory in on every
 * call. (Single-threaded, like the rest of the runtime for now.) */
enum { kTapeCacheSlots = 8 };
static const int64_t kTapeCacheMinBytes = 64 * 1024;
static DlArray *tapeCache[kTapeCacheSlots];

static int64_t byteCapacity(const DlArray *a) { return a->capacity * a->elemSize; }

/* Freed tapes of the initial capacity, per element size, for the next
 * callee: a gradient may create and free thousands of them, more than
 * malloc's per-thread cache holds. The link lives in the first element. */
enum { kInitialTapeCapacity = 64, kSmallTapesKept = 4096 };
static DlArray *smallTapes[kSharedEmptySizes];
static int smallTapeCount[kSharedEmptySizes];

void dlrt_array_free(DlArray *a) {
  if (isShared(a))
    return;
  int64_t size = a->elemSize;
  if (a->capacity == kInitialTapeCapacity && size > 0 && size < kSharedEmptySizes &&
      smallTapeCount[size] < kSmallTapesKept) {
    *(DlArray **)elements(a) = smallTapes[size];
    smallTapes[size] = a;
    ++smallTapeCount[size];
    return;
  }
  if (byteCapacity(a) >= kTapeCacheMinBytes) {
    int smallest = -1;
    for (int i = 0; i < kTapeCacheSlots; ++i) {
      if (!tapeCache[i]) {
        tapeCache[i] = a;
        return;
      }
      if (smallest < 0 || byteCapacity(tapeCache[i]) < byteCapacity(tapeCache[smallest]))
        smallest = i;
    }
    if (byteCapacity(tapeCache[smallest]) < byteCapacity(a)) {
      DlArray *evicted = tapeCache[smallest];
      tapeCache[smallest] = a;
      a = evicted;
    }
  }
  free(a);
}

/* NULL is an `undef` the compiler never reads (a field an initializer has
 * not set yet), replaced and so released. */
void dlrt_array_retain(DlArray *a) {
  if (a && a->refcount > 0)
    ++a->refcount;
}

void dlrt_array_release(DlArray *a) {
  if (a && a->refcount > 0 && --a->refcount == 0)
    dlrt_array_free(a);
}

/* Gives up the reference to `a` that a growing write consumed, after its
 * elements were copied elsewhere: frees it unless somebody else holds it
 * too (Note [Array ownership] in ir/Ownership.cpp). */
static void dropGrown(DlArray *a) {
  if (isShared(a))
    return;
  if (a->refcount > 1)
    --a->refcount;
  else
    dlrt_array_free(a);
}

static DlArray *growFull(DlArray *a, int64_t initial);

/* One growth step of a tape stack that is full. */
static DlArray *growTape(DlArray *a) {
  /* Only tapes already big take from the cache: a small one (a callee's
   * tape, of which there may be thousands) would take the block that a big
   * one needs. */
  if (a->elemSize > 0 && byteCapacity(a) >= kTapeCacheMinBytes / 2) {
    /* The largest cached block that is at least twice as big. */
    int best = -1;
    for (int i = 0; i < kTapeCacheSlots; ++i)
      if (tapeCache[i] && byteCapacity(tapeCache[i]) >= 2 * (byteCapacity(a) + a->elemSize) &&
          (best < 0 || byteCapacity(tapeCache[i]) > byteCapacity(tapeCache[best])))
        best = i;
    if (best >= 0) {
      DlArray *reused = tapeCache[best];
      tapeCache[best] = NULL;
      int64_t bytes = byteCapacity(reused);
      reused->refcount = 1;
      reused->elemSize = a->elemSize;
      reused->capacity = bytes / a->elemSize;
      reused->count = a->count;
      memcpy(elements(reused), constElements(a), (size_t)(a->count * a->elemSize));
      dropGrown(a);
      return reused;
    }
  }
  /* A new tape starts with room for 64 values: a callee's tape (one per
   * call, perhaps thousands per gradient) then rarely needs to grow. */
  int64_t size = a->elemSize;
  if (a->capacity == 0 && size > 0 && size < kSharedEmptySizes && smallTapes[size]) {
    DlArray *reused = smallTapes[size];
    smallTapes[size] = *(DlArray **)elements(reused);
    --smallTapeCount[size];
    reused->refcount = 1;
    reused->count = 0;
    dropGrown(a);
    return reused;
  }
  return growFull(a, kInitialTapeCapacity);
}

DlArray *dlrt_array_reserve(DlArray *a, int64_t n) {
  if (n < 0 || a->count > INT64_MAX - n)
    dlrt_fail("<runtime>", "out of memory");
  while (a->count + n > a->capacity)
    a = growTape(a);
  return a;
}

DlArray *dlrt_array_grow1(DlArray *a) {
  if (a->count < a->capacity)
    return a;
  return growFull(a, 16);
}

/* A full array with room for twice as many elements (at least `initial`). */
static DlArray *growFull(DlArray *a, int64_t initial) {
  /* The operand is dead after the push (the compiler's contract for
   * stack.push and an in-place array.append), so it may be resized in place.
   * glibc's realloc keeps the 16-byte alignment of aligned_alloc's blocks on
   * x86-64. */
  int64_t capacity = a->capacity < initial / 2 ? initial : 2 * a->capacity;
  if (a->capacity == 0) { /* possibly a shared empty array: never resized */
    DlArray *fresh = allocRaw(a->elemSize, 0, capacity);
    dropGrown(a);
    return fresh;
  }
  if (a->refcount > 1) { /* somebody else holds it too: copy, never realloc */
    DlArray *copy = dlrt_array_clone(a, capacity - a->count);
    dropGrown(a);
    return copy;
  }
  int64_t limit = (INT64_MAX - DLRT_ARRAY_HEADER_SIZE - 16) / (a->elemSize > 0 ? a->elemSize : 1);
  if (capacity > limit)
    dlrt_fail("<runtime>", "out of memory");
  size_t size = ((size_t)(DLRT_ARRAY_HEADER_SIZE + capacity * a->elemSize) + 15) & ~(size_t)15;
  DlArray *grown = realloc(a, size);
  if (!grown)
    dlrt_fail("<runtime>", "out of memory");
  grown->capacity = capacity;
  return grown;
}

DlArray *dlrt_array_materialize(DlArray *a, int64_t count) {
  if (a->count >= count) {
    dlrt_array_retain(a); /* a new reference, like the padded copy */
    return a;
  }
  DlArray *padded = dlrt_array_new(a->elemSize, count); /* zero-filled */
  if (a->count > 0 && a->elemSize > 0)
    memcpy(elements(padded), constElements(a), (size_t)(a->count * a->elemSize));
  return padded;
}

DlArray *dlrt_array_repeat(const void *elem, int64_t elemSize, int64_t count, const char *loc) {
  if (count < 0) {
    char message[96];
    snprintf(message, sizeof message, "cannot repeat an element a negative number of times (%lld)",
             (long long)count);
    dlrt_fail(loc, message);
  }
  DlArray *a = allocArray(elemSize, count, count);
  if (count == 0 || elemSize == 0)
    return a;
  /* Copy the element once, then double the filled prefix. */
  char *data = elements(a);
  size_t total = (size_t)(count * elemSize);
  size_t filled = (size_t)elemSize;
  memcpy(data, elem, filled);
  while (filled < total) {
    size_t chunk = filled < total - filled ? filled : total - filled;
    memcpy(data + filled, data, chunk);
    filled += chunk;
  }
  return a;
}
