/* Heap allocation for dlrt: every block is 16-byte aligned and zero-filled,
 * and running out of memory is a runtime error ("<runtime>: out of memory"),
 * so neither compiled code nor the rest of the runtime checks for NULL. */
#include "runtime/dlrt.h"

#include <stdlib.h>
#include <string.h>

void *dlrt_alloc(int64_t size) {
  if (size < 0 || size > INT64_MAX - 15 || (uint64_t)size > SIZE_MAX - 15)
    dlrt_fail("<runtime>", "out of memory");
  /* aligned_alloc wants a size that is a multiple of the alignment, and a
   * zero-size request may return NULL; round up to at least one granule. */
  size_t rounded = size == 0 ? 16 : ((size_t)size + 15) & ~(size_t)15;
  void *p = aligned_alloc(16, rounded);
  if (!p)
    dlrt_fail("<runtime>", "out of memory");
  memset(p, 0, rounded);
  return p;
}

void dlrt_free(void *p) { free(p); }

void dlrt_closure_retain(DlClosureEnv *env) {
  if (env && env->refcount > 0)
    ++env->refcount;
}

void dlrt_closure_release(DlClosureEnv *env) {
  if (env && env->refcount > 0 && --env->refcount == 0)
    env->drop(env);
}
