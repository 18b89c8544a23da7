/* print() for DL values: each function writes one value's text to the
 * buffered stdout (stdio). Floats use the shortest round-trip form from
 * format.c; strings inside arrays, tuples and structs print quoted. */
#include "runtime/dlrt.h"

#include <inttypes.h>
#include <stdio.h>

void dlrt_print_int(int64_t v) { printf("%" PRId64, v); }

void dlrt_print_float(float v) {
  char buf[32];
  fwrite(buf, 1, (size_t)dlrt_format_float(v, buf), stdout);
}

void dlrt_print_double(double v) {
  char buf[32];
  fwrite(buf, 1, (size_t)dlrt_format_double(v, buf), stdout);
}

void dlrt_print_bool(bool v) { fputs(v ? "true" : "false", stdout); }

void dlrt_print_string(const DlString *s) { fwrite(s->data, 1, (size_t)s->length, stdout); }

void dlrt_print_string_quoted(const DlString *s) {
  putchar('"');
  for (int64_t i = 0; i < s->length; ++i) {
    char c = s->data[i];
    switch (c) {
    case '\n': fputs("\\n", stdout); break;
    case '\t': fputs("\\t", stdout); break;
    case '\\': fputs("\\\\", stdout); break;
    case '"': fputs("\\\"", stdout); break;
    default: putchar(c); break;
    }
  }
  putchar('"');
}

void dlrt_print_cstr(const char *s) { fputs(s, stdout); }

void dlrt_print_newline(void) { putchar('\n'); }
