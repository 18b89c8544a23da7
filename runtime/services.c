/* Program lifetime and the services DL programs reach through the prelude:
 * dlrt_init records argv, args() hands argv[1..] back as DL strings, clock()
 * reads a monotonic clock, and finish/exit flush stdout before leaving. */
#define _POSIX_C_SOURCE 200809L
#include "runtime/dlrt.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int savedArgc;
static char **savedArgv;

void dlrt_init(int argc, char **argv) {
  savedArgc = argc;
  savedArgv = argv;
#ifdef __GLIBC__
  /* Tapes of reverse-mode AD grow to megabytes and are freed after every
   * gradient; glibc would hand such blocks back to the kernel each time and
   * fault them in again on the next call. Keep them in the process. */
  mallopt(M_MMAP_THRESHOLD, 32 << 20); /* glibc's maximum on 64-bit */
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
}

int dlrt_finish(int64_t code) {
  fflush(stdout);
  return (int)code;
}

void dlrt_exit(int64_t code) {
  fflush(stdout);
  exit((int)code);
}

DlArray *dlrt_args(void) {
  int64_t count = savedArgc > 1 && savedArgv ? savedArgc - 1 : 0;
  DlArray *a = dlrt_array_new((int64_t)sizeof(DlString *), count);
  DlString **items = (DlString **)((char *)a + DLRT_ARRAY_HEADER_SIZE);
  for (int64_t i = 0; i < count; ++i) {
    const char *arg = savedArgv[i + 1] ? savedArgv[i + 1] : "";
    items[i] = dlrt_string_new(arg, (int64_t)strlen(arg));
  }
  return a;
}

DlString *dlrt_environment(const DlString *name) {
  char key[1024];
  if (name->length <= 0 || name->length >= (int64_t)sizeof key ||
      memchr(name->data, '\0', (size_t)name->length))
    return dlrt_string_new("", 0);
  memcpy(key, name->data, (size_t)name->length);
  key[name->length] = '\0';
  const char *value = getenv(key);
  return value ? dlrt_string_new(value, (int64_t)strlen(value)) : dlrt_string_new("", 0);
}

double dlrt_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
