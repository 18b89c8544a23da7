/* Runtime errors: each dlrt_fail* flushes stdout, writes exactly
 * "runtime error: <loc>: <message>\n" to stderr and exits with status 1, or,
 * inside dlrt_call_trapping (the REPL), jumps back there.
 * Compiled code calls the specific forms with the failing values; the message
 * texts live here only. */
#include "runtime/dlrt.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

/* The innermost dlrt_call_trapping's return point; null outside the REPL. */
static jmp_buf *trap;

/* Writes the message in pieces (`detail` may hold any bytes, e.g. a DL
 * string with a NUL) and ends the process. */
DLRT_NORETURN static void failWith(const char *loc, const char *text, const char *detail,
                                   int64_t detailLength) {
  fflush(stdout);
  fprintf(stderr, "runtime error: %s: %s", loc ? loc : "<unknown>", text);
  if (detail && detailLength > 0)
    fwrite(detail, 1, (size_t)detailLength, stderr);
  fputc('\n', stderr);
  fflush(stderr);
  if (trap)
    longjmp(*trap, 1);
  exit(1);
}

int dlrt_call_trapping(void (*entry)(void **), void **slots) {
  jmp_buf here;
  jmp_buf *outer = trap;
  trap = &here;
  if (setjmp(here)) {
    trap = outer;
    return 1;
  }
  entry(slots);
  trap = outer;
  return 0;
}

void dlrt_fail(const char *loc, const char *message) { failWith(loc, message, NULL, 0); }

void dlrt_fail_index(const char *loc, int64_t index, int64_t count) {
  char message[128];
  snprintf(message, sizeof message, "index %lld is out of range for an array of %lld element%s",
           (long long)index, (long long)count, count == 1 ? "" : "s");
  failWith(loc, message, NULL, 0);
}

void dlrt_fail_div_zero(const char *loc) { failWith(loc, "division by zero", NULL, 0); }

void dlrt_fail_overflow(const char *loc, const char *op) {
  char message[96];
  snprintf(message, sizeof message, "integer overflow in '%s'", op);
  failWith(loc, message, NULL, 0);
}

void dlrt_fail_assert(const char *loc, const DlString *message) {
  if (!message || message->length == 0)
    failWith(loc, "assertion failed", NULL, 0);
  failWith(loc, "assertion failed: ", message->data, message->length);
}

void dlrt_fail_convert(const char *loc, double value) {
  char number[32];
  char message[80];
  dlrt_format_double(value, number);
  snprintf(message, sizeof message, "cannot convert %s to Int", number);
  failWith(loc, message, NULL, 0);
}
