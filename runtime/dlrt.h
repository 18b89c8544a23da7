/* dlrt: the DL runtime's C ABI. Compiled DL programs call these functions;
 * `dlc build` links them from libdlrt.a and `dlc run` resolves them in-process.
 * Every function listed here also appears in runtime/Symbols.def.
 * This header is C and C++ compatible and includes nothing heavy. */
#ifndef DLRT_H
#define DLRT_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DLRT_NORETURN __attribute__((noreturn))

/* Reference counts equal to DLRT_IMMORTAL are never changed (literals). */
#define DLRT_IMMORTAL INT64_MIN

/* An immutable string. `data` holds `length` bytes followed by a NUL.
 * The compiler emits string literals as constant DlString objects with
 * refcount DLRT_IMMORTAL. */
typedef struct DlString {
  int64_t refcount;
  int64_t length;
  char data[];
} DlString;

/* An array of fixed-size elements. Elements follow the header at
 * DLRT_ARRAY_HEADER_SIZE bytes from its start (16-byte aligned).
 * Arrays are values: the compiler never writes to an array that another
 * value may still see (it clones first). */
typedef struct DlArray {
  int64_t refcount;
  int64_t count;
  int64_t capacity;
  int64_t elemSize;
} DlArray;
#define DLRT_ARRAY_HEADER_SIZE 32

/* --- Program lifetime ------------------------------------------------------ */
/* Records argv (argv[0] is the program; args() returns argv[1..]). */
void dlrt_init(int argc, char **argv);
/* Flushes output; returns `code` (truncated to int) for main to return. */
int dlrt_finish(int64_t code);
/* exit(code): flushes output and ends the process. */
DLRT_NORETURN void dlrt_exit(int64_t code);

/* --- Printing (buffered stdout) ------------------------------------------- */
void dlrt_print_int(int64_t v);
void dlrt_print_float(float v);   /* shortest round-trip form, see dlrt_format_float */
void dlrt_print_double(double v); /* shortest round-trip form */
void dlrt_print_bool(bool v);     /* true / false */
void dlrt_print_string(const DlString *s);        /* the raw text */
void dlrt_print_string_quoted(const DlString *s); /* "text" with \n \t \\ \" escaped (inside arrays/tuples/structs) */
void dlrt_print_cstr(const char *s);              /* punctuation emitted by the compiler */
void dlrt_print_newline(void);

/* Shortest text that reads back as the same value: 0.1, 2, -0, 1e-07,
 * 1.5e+20, 100000, inf, -inf, nan. Fixed notation when the decimal exponent
 * is in [-5, 16), otherwise scientific with at least two exponent digits.
 * Writes a NUL-terminated string of at most 31 characters to buf[32];
 * returns its length. */
int dlrt_format_float(float v, char *buf);
int dlrt_format_double(double v, char *buf);

/* --- Strings --------------------------------------------------------------- */
DlString *dlrt_string_new(const char *data, int64_t length);
DlString *dlrt_string_concat(const DlString *a, const DlString *b);
/* -1, 0 or 1 by bytewise comparison. */
int64_t dlrt_string_compare(const DlString *a, const DlString *b);

/* --- Arrays ------------------------------------------------------------------ */
/* A new array of `count` zero-filled elements (capacity >= count). Empty
 * arrays are shared per element size and immortal (refcount -1, capacity 0):
 * nothing writes to them, since every write needs room they do not have. */
DlArray *dlrt_array_new(int64_t elemSize, int64_t count);
/* A copy of `a` with refcount 1 and room for at least `extra` more elements. */
DlArray *dlrt_array_clone(const DlArray *a, int64_t extra);
/* `count` copies of the element at `elem`; traps at `loc` if count < 0. */
DlArray *dlrt_array_repeat(const void *elem, int64_t elemSize, int64_t count, const char *loc);

/* In-place forms, on arrays nobody else sees: tapes in code that automatic
 * differentiation generates, arrays that ir/InPlace.cpp proved unshared. `a`
 * is dead afterwards (it may have been resized or freed). */
/* A tape stack with room for `n` more elements: `a` itself when it has the
 * room, else `a` grown (capacity doubling, large blocks from a cache of freed
 * tapes). */
DlArray *dlrt_array_reserve(DlArray *a, int64_t n);
/* `a` with room for one more element: `a` itself when it has capacity, else
 * `a` grown (capacity doubles). */
DlArray *dlrt_array_grow1(DlArray *a);
/* `a` when it has at least `count` elements, else a copy padded with zero
 * bytes to `count` elements (a tangent array shorter than its primal stands
 * for one padded with zeros). */
DlArray *dlrt_array_materialize(DlArray *a, int64_t count);

/* Releases an array nobody will read again (a tape after its pullback ran).
 * Elements that own memory are not released. */
void dlrt_array_free(DlArray *a);

/* --- Memory ------------------------------------------------------------------- */
/* Heap memory for closure environments (16-byte aligned; never NULL). */
void *dlrt_alloc(int64_t size);

/* --- Services ----------------------------------------------------------------- */
/* args(): the program's arguments as an array of DlString* elements. */
DlArray *dlrt_args(void);
/* clock(): seconds from a monotonic clock. */
double dlrt_clock(void);

/* --- Runtime errors: print "runtime error: <loc>: <message>" to stderr, flush
 * stdout first, and exit with status 1. `loc` is "file:line:col". ------------ */
DLRT_NORETURN void dlrt_fail(const char *loc, const char *message);
DLRT_NORETURN void dlrt_fail_index(const char *loc, int64_t index, int64_t count);
DLRT_NORETURN void dlrt_fail_div_zero(const char *loc);
DLRT_NORETURN void dlrt_fail_overflow(const char *loc, const char *op);
DLRT_NORETURN void dlrt_fail_assert(const char *loc, const DlString *message);
DLRT_NORETURN void dlrt_fail_convert(const char *loc, double value);

#ifdef __cplusplus
}
#endif

#endif /* DLRT_H */
