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
/* Reference counting (ir/Ownership.cpp): literals (DLRT_IMMORTAL) never
 * change; release frees at zero; NULL (an undef never read) is ignored. */
void dlrt_string_retain(DlString *s);
void dlrt_string_release(DlString *s);
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
 * for one padded with zeros). Either way a new reference: `a` is retained
 * when it is returned. */
DlArray *dlrt_array_materialize(DlArray *a, int64_t count);

/* Frees an array whatever its refcount, at its last reference
 * (dlrt_array_release, and codegen's release helpers for arrays of counted
 * elements, which release those first). Elements are not released. */
void dlrt_array_free(DlArray *a);
/* Reference counting of arrays (Note [Array ownership] in ir/Ownership.cpp):
 * immortal arrays (refcount < 0, the shared empty ones) are never changed;
 * release frees at zero, so it is for arrays whose elements own no memory.
 * The in-place forms above consume their operand's reference: when somebody
 * else holds the array too, growing copies it instead of reallocating. */
void dlrt_array_retain(DlArray *a);
void dlrt_array_release(DlArray *a);

/* --- Tensors (LANGUAGE.md §6) ------------------------------------------------
 * A tensor is a refcounted header pointing at a 64-byte aligned buffer of
 * `count` elements in row-major order. Element kinds: DLRT_F32 (float),
 * DLRT_F64 (double), DLRT_I64 (int64_t), DLRT_BOOL (one byte, 0 or 1).
 * Tensors are values: the compiler never writes to one another value may see.
 *
 * Zero tangents: generated derivative code represents "zero, of whatever
 * shape" by NULL. Functions marked [zero-ok] accept NULL where it is noted;
 * every other function requires a real tensor. The adjoint operations that
 * take a `like` operand only for its shape (sum_to, broadcast_to,
 * expand_axis, reshape_like and the index, slice, narrow and gather
 * backwards) give NULL for a NULL `like` too: a higher-order derivative
 * reads a zero tangent as a primal value, and what is shaped like it is the
 * cotangent or tangent of a value that is zero by construction (it depends
 * on nothing), which is never read and is zero.
 *
 * Errors: functions taking `loc` ("file:line:col") fail through dlrt_fail
 * with messages that name the operation and the shapes, e.g.
 *   shape mismatch in '+': [128, 512] vs [10]
 * Operands of binary operations have one element kind (the compiler checks).
 * Every function returning DlTensor * returns a new reference (refcount 1,
 * or one of its operands retained) that the caller owns. */
#define DLRT_MAX_RANK 8
enum { DLRT_F32 = 0, DLRT_F64 = 1, DLRT_I64 = 2, DLRT_BOOL = 3 };

typedef struct DlTensor {
  int64_t refcount; /* DLRT_IMMORTAL: never changed, never freed */
  int32_t kind;     /* DLRT_F32 ... DLRT_BOOL */
  int32_t rank;     /* 0 ... DLRT_MAX_RANK */
  int64_t count;    /* product of shape[0..rank) (1 for rank 0) */
  void *data;       /* 64-byte aligned; owned by this tensor */
  int64_t shape[DLRT_MAX_RANK];
} DlTensor;

/* Elementwise unary operations (dlrt_t_unary). */
enum {
  DLRT_NEG, DLRT_EXP, DLRT_LOG, DLRT_LOG1P, DLRT_SQRT, DLRT_RSQRT, DLRT_ABS, DLRT_SIN,
  DLRT_COS, DLRT_TANH, DLRT_SIGMOID, DLRT_RELU, DLRT_SIGN, DLRT_FLOOR, DLRT_CEIL, DLRT_ROUND,
  DLRT_STEP, /* 1 where x > 0, else 0: the derivative of relu */
  DLRT_NOT,  /* Bool only */
  DLRT_UNARY_COUNT
};
/* Elementwise binary operations with NumPy broadcasting (dlrt_t_binary).
 * Comparisons give DLRT_BOOL tensors; AND/OR take Bool tensors. */
enum {
  DLRT_ADD, DLRT_SUB, DLRT_MUL, DLRT_DIV, DLRT_POW, DLRT_MIN, DLRT_MAX, DLRT_EQ, DLRT_NE,
  DLRT_LT, DLRT_LE, DLRT_GT, DLRT_GE, DLRT_AND, DLRT_OR, DLRT_BINARY_COUNT
};
/* Reductions over one axis (dlrt_t_reduce) or all elements (dlrt_t_reduce_all). */
enum { DLRT_SUM, DLRT_MEAN, DLRT_RMAX, DLRT_RMIN, DLRT_ARGMAX, DLRT_LOGSUMEXP, DLRT_REDUCE_COUNT };

/* Creation. `shape` is an array of Int (int64_t elements); a negative
 * dimension or a rank above DLRT_MAX_RANK fails at `loc`. */
DlTensor *dlrt_t_full(int32_t kind, const DlArray *shape, double value, const char *loc);
DlTensor *dlrt_t_scalar(int32_t kind, double value); /* rank 0 */
DlTensor *dlrt_t_arange(int32_t kind, int64_t n, const char *loc); /* 0, 1, ..., n-1 */
/* From nested arrays: `depth` levels of DlArray* (depth 1: the elements
 * themselves, of `kind`'s C type; Bool elements are one byte). A ragged
 * array fails ("ragged nested array: ..."); an empty level gives dimension 0. */
DlTensor *dlrt_t_from_array(int32_t kind, const DlArray *a, int32_t depth, const char *loc);
/* Deterministic random numbers: one generator per process, seeded with
 * dlrt_seed (and with 0 before any call). randn: standard normal; rand:
 * uniform in [0, 1); glorot: uniform in [-l, l], l = sqrt(6 / (fanIn + fanOut))
 * with fanIn = shape[rank-2] and fanOut = shape[rank-1] (rank >= 2; rank 1:
 * fanIn = fanOut = shape[0]). The sequence is identical on every machine. */
void dlrt_seed(int64_t seed);
DlTensor *dlrt_t_randn(int32_t kind, const DlArray *shape, const char *loc);
DlTensor *dlrt_t_rand(int32_t kind, const DlArray *shape, const char *loc);
DlTensor *dlrt_t_glorot(int32_t kind, const DlArray *shape, const char *loc);
/* The dropout mask for a tensor like `like` (F32/F64): each element is 0 with
 * probability `rate`, else 1 / (1 - rate); all ones when not `training`.
 * rate must be in [0, 1). */
DlTensor *dlrt_t_dropout_mask(const DlTensor *like, double rate, bool training, const char *loc);

/* Queries. */
DlArray *dlrt_t_shape(const DlTensor *t); /* [Int] */
int64_t dlrt_t_rank(const DlTensor *t);
int64_t dlrt_t_count(const DlTensor *t);
/* The only element of a tensor with count 1, converted to double (item_f64)
 * or int64 (item_i64; Bool gives 0/1); fails otherwise. */
double dlrt_t_item_f64(const DlTensor *t, const char *loc);
int64_t dlrt_t_item_i64(const DlTensor *t, const char *loc);
/* t[idx[0], ..., idx[n-1]] with n <= rank: the sub-tensor of rank `rank - n`
 * (a copy). Negative or too-large indices fail with the axis and the range.
 * [zero-ok: index and slice of NULL are NULL] */
DlTensor *dlrt_t_index(const DlTensor *t, int64_t n, const int64_t *idx, const char *loc);
/* t[lo..<hi] along axis 0; fails unless 0 <= lo <= hi <= shape[0]. */
DlTensor *dlrt_t_slice(const DlTensor *t, int64_t lo, int64_t hi, const char *loc);
/* Adjoint of index/slice [zero-ok: g NULL gives NULL]: a zero tensor shaped
 * like `like` with g added at the indexed position. */
DlTensor *dlrt_t_index_backward(const DlTensor *g, const DlTensor *like, int64_t n,
                                const int64_t *idx, const char *loc);
DlTensor *dlrt_t_slice_backward(const DlTensor *g, const DlTensor *like, int64_t lo, int64_t hi,
                                const char *loc);

/* Elementwise. [zero-ok] unary: NEG of NULL is NULL. binary: ADD/SUB with a
 * NULL operand give the other (negated for SUB), both NULL give NULL; MUL
 * with either NULL and DIV with a NULL left operand give NULL. */
DlTensor *dlrt_t_unary(int32_t op, const DlTensor *a, const char *loc);
DlTensor *dlrt_t_binary(int32_t op, const DlTensor *a, const DlTensor *b, const char *loc);
/* The same, taking the caller's reference to operand a (unary) or to operand
 * `which` (0: a, 1: b) of a binary operation: when that operand is not shared
 * (refcount 1) and has the result's kind and shape, the result is computed
 * into its buffer and returned; otherwise the operand is released. For
 * operands the compiler knows it will not read again. */
DlTensor *dlrt_t_unary_owned(int32_t op, DlTensor *a, const char *loc);
DlTensor *dlrt_t_binary_owned(int32_t op, DlTensor *a, DlTensor *b, int32_t which,
                              const char *loc);
/* where(c, a, b): c Bool; the three broadcast together. [zero-ok: a NULL or b
 * NULL stands for zeros; both NULL give NULL] */
DlTensor *dlrt_t_where(const DlTensor *c, const DlTensor *a, const DlTensor *b, const char *loc);
/* Element conversion to `kind` (Int -> Float rounds, Float -> Int truncates).
 * [zero-ok: NULL gives NULL] */
DlTensor *dlrt_t_convert(const DlTensor *a, int32_t kind);

/* Reductions. reduce_all returns the result as double (ARGMAX: the flat
 * index); all ops but SUM fail on an empty tensor. [zero-ok: SUM and MEAN of
 * NULL are 0] reduce: over `axis` (negative counts from the end), keeping it
 * with size 1 when keepDims; ARGMAX gives DLRT_I64. [zero-ok: SUM, MEAN] */
double dlrt_t_reduce_all(int32_t op, const DlTensor *a, const char *loc);
DlTensor *dlrt_t_reduce(int32_t op, const DlTensor *a, int64_t axis, bool keepDims, const char *loc);

/* Broadcast adjoints. sum_to: g summed over the axes along which `like` was
 * broadcast to g's shape, reshaped to like's shape [zero-ok: NULL g gives
 * NULL]. broadcast_to: a broadcast to like's shape (a copy) [zero-ok: NULL
 * gives NULL]. fill_like: a
 * tensor of like's shape and kind filled with `value`. */
DlTensor *dlrt_t_sum_to(const DlTensor *g, const DlTensor *like, const char *loc);
DlTensor *dlrt_t_broadcast_to(const DlTensor *a, const DlTensor *like, const char *loc);
DlTensor *dlrt_t_fill_like(const DlTensor *like, double value);
/* g, a reduction of `like` over `axis` (kept with size 1 or dropped),
 * broadcast back to like's shape: the adjoint of a reduction. [zero-ok] */
DlTensor *dlrt_t_expand_axis(const DlTensor *g, const DlTensor *like, int64_t axis,
                             const char *loc);
/* t when it is not NULL, else zeros shaped like `like` (a tangent handed to
 * the user). */
DlTensor *dlrt_t_materialize(const DlTensor *t, const DlTensor *like);

/* Linear algebra (Float and Double; BLAS). matmul: a [.., m, k] @ b [.., k, n]
 * with transA/transB taking the transpose of the last two axes first; rank 1
 * operands act as a row (left) or column (right) vector and that axis is
 * dropped from the result, as in NumPy; batch dims broadcast. [zero-ok: a or
 * b NULL gives NULL] */
DlTensor *dlrt_t_matmul(const DlTensor *a, const DlTensor *b, bool transA, bool transB,
                        const char *loc);
/* Axes permuted: result.shape[i] = a.shape[perm[i]]; perm NULL reverses the
 * axes (NumPy's x.T). [zero-ok: NULL a gives NULL] */
DlTensor *dlrt_t_transpose(const DlTensor *a, const DlArray *perm, const char *loc);
/* The inverse permutation's transpose: the adjoint of transpose(a, perm). [zero-ok] */
DlTensor *dlrt_t_transpose_backward(const DlTensor *g, const DlArray *perm, const char *loc);

/* Shape. reshape: one -1 dimension is inferred; the counts must match.
 * reshape_like: to like's shape. [zero-ok: NULL gives NULL] */
DlTensor *dlrt_t_reshape(const DlTensor *a, const DlArray *shape, const char *loc);
/* reshape taking `a`'s reference: in place when nobody else holds `a`. */
DlTensor *dlrt_t_reshape_owned(DlTensor *a, const DlArray *shape, const char *loc);
DlTensor *dlrt_t_reshape_like(const DlTensor *a, const DlTensor *like, const char *loc);

/* More shape operations (tensor_shape.c). Axes may be negative (counted from
 * the end); an axis out of range is a runtime error.
 * flatten: axes from..rank-1 merged into one (flatten(x, from: 1) of
 * [N, H, W, C] is [N, H*W*C]); rank 0 gives [1]. squeeze: without `all`, drops
 * `axis`, which must have size 1; with `all`, every axis of size 1 (axis is
 * ignored). unsqueeze: a new axis of size 1 at `axis` (-1: last), for
 * axis in [-(rank+1), rank]. rows: every axis but the last merged into one,
 * [d0, ..., dk] -> [d0*...*d(k-1), dk] (rank 1 gives [1, d0]).
 * [zero-ok: NULL a gives NULL, all four] */
DlTensor *dlrt_t_flatten(const DlTensor *a, int64_t from, const char *loc);
DlTensor *dlrt_t_squeeze(const DlTensor *a, int64_t axis, bool all, const char *loc);
DlTensor *dlrt_t_unsqueeze(const DlTensor *a, int64_t axis, const char *loc);
DlTensor *dlrt_t_rows(const DlTensor *a, const char *loc);
/* narrow: elements lo..<hi along `axis` (0 <= lo <= hi <= size).
 * narrow_backward: zeros shaped like `like` with g placed at lo..<hi along
 * axis. [zero-ok: NULL a / g gives NULL] */
DlTensor *dlrt_t_narrow(const DlTensor *a, int64_t axis, int64_t lo, int64_t hi, const char *loc);
DlTensor *dlrt_t_narrow_backward(const DlTensor *g, const DlTensor *like, int64_t axis, int64_t lo,
                                 int64_t hi, const char *loc);
/* concat: the n >= 1 parts joined along `axis`; they must have one element
 * kind and equal shapes except along axis (its adjoint narrows g back into
 * parts). dim: the size of `axis`. */
DlTensor *dlrt_t_concat(int64_t n, DlTensor *const *parts, int64_t axis, const char *loc);
/* join: concat (stack false) or stack (stack true: each part gets a new axis
 * of size 1 at `axis`, and all must have one shape) of the tensors of array
 * `parts` ([Tensor]). join_tangent: join of the tangents, where a NULL
 * tangent or one past the array's end stands for zeros shaped like its
 * primal part. join_backward: the parts' adjoints, an array ([Tensor], new
 * references) of g's stretch for each part; an empty array for a NULL g.
 * [zero-ok] */
DlTensor *dlrt_t_join(const DlArray *parts, int64_t axis, bool stack, const char *loc);
DlTensor *dlrt_t_join_tangent(const DlArray *tangents, const DlArray *primals, int64_t axis,
                              bool stack, const char *loc);
DlArray *dlrt_t_join_backward(const DlTensor *g, const DlArray *primals, int64_t axis, bool stack,
                              const char *loc);
int64_t dlrt_t_dim(const DlTensor *a, int64_t axis, const char *loc);
/* gather: NumPy's take(a, indices, axis): result shape a.shape[..axis] +
 * indices.shape + a.shape[axis+1..]; indices are DLRT_I64 in [-size, size)
 * (negative counts from the end). gather_backward: zeros shaped like `like`
 * with g's slices added at the gathered positions (repeats accumulate).
 * [zero-ok: NULL a / g gives NULL] */
DlTensor *dlrt_t_gather(const DlTensor *a, const DlTensor *indices, int64_t axis, const char *loc);
DlTensor *dlrt_t_gather_backward(const DlTensor *g, const DlTensor *like, const DlTensor *indices,
                                 int64_t axis, const char *loc);
/* loadIDX: the IDX file at `path` (plain or gzip-compressed, e.g. the MNIST
 * and Fashion-MNIST files) as a tensor of element `kind` with the file's
 * dimensions. Element types u8, i8, i16, i32, f32 and f64 are read. A missing
 * or unreadable file, a bad header and a short file are runtime errors. */
DlTensor *dlrt_t_load_idx(const DlString *path, int32_t kind, const char *loc);
/* loadNPY: the NumPy .npy file at `path` (format versions 1 to 3, plain or
 * gzip-compressed) as a tensor of element `kind` with the file's shape;
 * dtypes <f4 <f8 <i8 <i4 |u1 |b1 in C order are read, converted to `kind`.
 * saveNPY: t as a version-1 .npy file (<f4, <f8, <i8 or |b1), written to a
 * temporary file renamed over `path`. loadCSV: a 2-D tensor [rows, columns]
 * from numbers separated by commas, one row per line; blank lines and a
 * first line that is not all numbers (a header) are skipped, every row must
 * have the same number of columns. Missing files, bad headers, other dtypes,
 * Fortran order, short files and malformed numbers are runtime errors. */
DlTensor *dlrt_t_load_npy(const DlString *path, int32_t kind, const char *loc);
void dlrt_t_save_npy(const DlTensor *t, const DlString *path, const char *loc);
DlTensor *dlrt_t_load_csv(const DlString *path, int32_t kind, const char *loc);
/* save(model, path) / load(&model, path) (runtime/model_io.c has the file
 * format): n tensors (scalar fields as rank-0 tensors) with their field
 * paths. save writes a temporary file and renames it over `path`. load
 * checks the whole file against `like` (the model's current values: every
 * path present with their dtype and shape, no other path) and only then
 * stores n new tensors in out; on any failure out is untouched. */
void dlrt_save_model(const DlString *path, int64_t n, DlString *const *names,
                     DlTensor *const *values, const char *loc);
void dlrt_load_model(const DlString *path, int64_t n, DlString *const *names,
                     DlTensor *const *like, DlTensor **out, const char *loc);
/* oneHot: labels (DLRT_I64, any shape) -> `kind` tensor of shape
 * labels.shape + [n] with 1 at each label; labels must be in [0, n). */
DlTensor *dlrt_t_one_hot(const DlTensor *labels, int64_t n, int32_t kind, const char *loc);

/* Printing: `Tensor(<values>, shape: [d0, d1])`, values NumPy-style
 * (nested brackets, later rows aligned under the first, columns padded to
 * one width, elements in shortest round-trip form, true/false for Bool);
 * past 1000 elements each axis shows its first 3 and last 3 entries around
 * "...". NULL prints as a zero tangent: `Tensor(0)`. */
void dlrt_print_tensor(const DlTensor *t);

/* Ownership. retain/release count references (NULL and immortal tensors are
 * ignored); the last release returns the buffer to a per-size cache that
 * later tensors reuse. unique: t itself when its refcount is 1, else a copy
 * with refcount 1 (release of t included) - for writes in place. */
void dlrt_t_retain(DlTensor *t);
void dlrt_t_release(DlTensor *t);
DlTensor *dlrt_t_unique(DlTensor *t);
/* Live tensors and bytes held (cache included), for tests and benchmarks. */
int64_t dlrt_t_live_count(void);
int64_t dlrt_t_cached_bytes(void);

/* --- Memory ------------------------------------------------------------------- */
/* Heap memory for closure environments (16-byte aligned; never NULL). */
void *dlrt_alloc(int64_t size);
/* A closure's environment starts with this header (refcount 1 when made),
 * then the captured values; `drop` releases those and frees the
 * environment. A closure without captures has a NULL environment. retain
 * and release take the environment, NULL included (Note [Closure ownership]
 * in ir/Ownership.cpp). */
typedef struct DlClosureEnv {
  int64_t refcount;
  void (*drop)(struct DlClosureEnv *env);
} DlClosureEnv;
void dlrt_closure_retain(DlClosureEnv *env);
void dlrt_closure_release(DlClosureEnv *env);
/* Frees what dlrt_alloc returned (a closure's drop function calls it). */
void dlrt_free(void *p);

/* --- Services ----------------------------------------------------------------- */
/* args(): the program's arguments as an array of DlString* elements. */
DlArray *dlrt_args(void);
/* environment(name): the environment variable's value, "" when unset. */
DlString *dlrt_environment(const DlString *name);
/* clock(): seconds from a monotonic clock. */
double dlrt_clock(void);

/* --- Fused elementwise kernels (tensor_fused.c; ir/Fusion.cpp, Note [Fusion]) ---
 * A kernel is a list of elementwise operations (unary: DLRT_NEG...; binary:
 * DLRT_ADD...) over F32 or F64 inputs, the last node its result, and a loop
 * compiled from it: loop(r0, r1, cols, out, inputs, rowStride, colStride)
 * computes rows [r0, r1) of the [rows, cols] result, element (r, c) from
 * element r * rowStride[k] + c * colStride[k] of input k. dlrt_t_fused
 * broadcasts the inputs, runs the loop (on several threads for large
 * tensors), and evaluates the nodes one by one with dlrt_t_unary/binary when
 * an input is NULL or broadcasts in a way the strides cannot express, so the
 * result and every error are those of the separate operations. `reuse` >= 0
 * hands over the caller's reference to that input, whose buffer then holds
 * the result when nothing else shares it. */
typedef struct DlFusedNode {
  /* 0: op is a unary operation; 1: binary (a comparison gives a Bool
   * tensor, read only by a where node); 2: where(a, b, c), op unused */
  int32_t binary;
  int32_t op;
  int32_t a, b, c; /* >= 0: an earlier node; < 0: input -1 - k */
  const char *loc;
} DlFusedNode;
typedef void (*DlFusedLoop)(int64_t r0, int64_t r1, int64_t cols, void *out,
                            void *const *inputs, const int64_t *rowStride,
                            const int64_t *colStride);
typedef struct DlFusedKernel {
  int32_t kind; /* DLRT_F32 or DLRT_F64 */
  int32_t inputs;
  int32_t count; /* nodes */
  const DlFusedNode *nodes;
  DlFusedLoop loop;
  /* 1, or more for dlrt_t_fused_multi: the loop's `out` is then an array of
   * `outputs` data pointers, and output j stores node outputNodes[j]. */
  int32_t outputs;
  const int32_t *outputNodes;
  /* Each input's kind when some are DLRT_BOOL (read only as a where node's
   * condition, a byte each); NULL when every input is of `kind`. */
  const int32_t *inputKinds;
} DlFusedKernel;
DlTensor *dlrt_t_fused(const DlFusedKernel *kernel, DlTensor *const *inputs, int32_t reuse,
                       const char *loc);
/* A kernel with several outputs (ir/Fusion.cpp, Note [Fused outputs]):
 * results[j] gets node outputNodes[j]'s tensor, as the separate operations
 * would make it. reuse[j] >= 0 hands over the caller's reference to that
 * input (a different one for each output), whose buffer then holds output j
 * when nothing else shares it and the shapes agree. An output whose own
 * inputs broadcast to a smaller shape than all of them (its value was
 * broadcast where it is read) is evaluated node by node at its shape. */
void dlrt_t_fused_multi(const DlFusedKernel *kernel, DlTensor *const *inputs,
                        const int32_t *reuse, DlTensor **results, const char *loc);
/* dlrt_t_reduce_all(op, dlrt_t_fused(kernel, inputs, -1, loc), loc) for op
 * DLRT_SUM or DLRT_MEAN, bit for bit, without making the tensor: the
 * pairwise summation evaluates the kernel into a small buffer for each block
 * it adds (ir/Fusion.cpp, Note [Fused reductions]). Inputs are borrowed. */
double dlrt_t_fused_reduce(const DlFusedKernel *kernel, DlTensor *const *inputs, int32_t op,
                           const char *loc);
/* dlrt_t_reduce(op, dlrt_t_fused(kernel, inputs, -1, loc), axis, keepDims,
 * loc) for op DLRT_SUM or DLRT_MEAN, bit for bit, without making the kernel's
 * tensor. Inputs are borrowed. */
DlTensor *dlrt_t_fused_reduce_axis(const DlFusedKernel *kernel, DlTensor *const *inputs,
                                   int32_t op, int64_t axis, bool keepDims, const char *loc);

/* --- NN operations (tensor_nn.c) ----------------------------------------------
 * conv2d: x [N, H, W, C] (NHWC), filter [KH, KW, C, O] (HWIO), the same stride
 * on both spatial axes and `padding` zeros on each side of H and W (PyTorch's
 * padding=p). Result [N, OH, OW, O] with OH = (H + 2p - KH) / stride + 1
 * (floor), likewise OW. [zero-ok: x or filter NULL gives NULL]
 *
 * Element kinds: DLRT_F32 and DLRT_F64, one kind for x, filter, g and dx of a
 * call (the compiler checks; differing kinds fail as an internal error). Each
 * function fails at `loc` with a message naming conv2d, maxPool2d or avgPool2d
 * (the adjoints name themselves - conv2d_backward_input, conv2d_backward_filter,
 * maxPool2d_backward, avgPool2d_backward, maxPool2d_tangent - only for g, dx
 * and NULL operands) when
 *   - the kind is Int or Bool: 'conv2d' is not defined for Tensor<Int>
 *   - x or the filter is not of rank 4:
 *       conv2d expects a rank-4 input [N, H, W, C], got [3, 4]
 *       conv2d expects a rank-4 filter [KH, KW, C, O], got [3, 3, 1]
 *   - the channels differ:
 *       shape mismatch in 'conv2d': input has 3 channels, filter expects 2
 *   - stride or size is below 1: conv2d: stride must be at least 1, got 0
 *                                maxPool2d: size must be at least 1, got 0
 *   - padding is negative (conv2d: padding must not be negative) or above 2^30
 *     (conv2d: padding 2000000000 is too large); for pooling, above half the
 *     window (PyTorch's rule), so that every window holds an input cell:
 *       maxPool2d: padding must be at most half the window size, got padding 2
 *       for size 3
 *   - the filter or window does not fit the padded input [N, H + 2p, W + 2p, C]:
 *       conv2d: the filter [5, 5, 1, 8] is larger than the padded input [1, 3, 3, 1]
 *       maxPool2d: the window 3 x 3 is larger than the padded input [1, 2, 2, 1]
 *   - g is not shaped like the result, or dx like x:
 *       shape mismatch in 'conv2d_backward_input': [2, 3, 3, 4] vs [2, 2, 2, 4]
 *   - a forward operand other than those marked [zero-ok] is NULL:
 *       internal error: zero tangent passed to 'conv2d_backward_filter' */
DlTensor *dlrt_t_conv2d(const DlTensor *x, const DlTensor *filter, int64_t stride,
                        int64_t padding, const char *loc);
/* The adjoints of conv2d for the cotangent g of its result ([N, OH, OW, O]):
 * with respect to x (x's shape) and to the filter (filter's shape). x and
 * filter are the forward operands. [zero-ok: NULL g gives NULL] */
DlTensor *dlrt_t_conv2d_backward_input(const DlTensor *g, const DlTensor *x,
                                       const DlTensor *filter, int64_t stride,
                                       int64_t padding, const char *loc);
DlTensor *dlrt_t_conv2d_backward_filter(const DlTensor *g, const DlTensor *x,
                                        const DlTensor *filter, int64_t stride,
                                        int64_t padding, const char *loc);
/* pool2d: DLRT_POOL_MAX or DLRT_POOL_AVG over size x size windows of x
 * [N, H, W, C] moved by stride, with `padding` cells on each side. Result
 * [N, OH, OW, C], OH = (H + 2p - size) / stride + 1. Max: padded cells never
 * win (as -infinity); ties go to the first maximum in row-major window order;
 * a NaN wins (the first one), as in max reductions. Avg: divides by
 * size * size, padded cells counting as zeros (PyTorch's count_include_pad=True
 * default). [zero-ok: NULL x gives NULL] */
enum { DLRT_POOL_MAX = 0, DLRT_POOL_AVG = 1 };
DlTensor *dlrt_t_pool2d(int32_t op, const DlTensor *x, int64_t size, int64_t stride,
                        int64_t padding, const char *loc);
/* The adjoint with respect to x of pool2d for the cotangent g of its result:
 * max sends each g to its window's (first) maximum, accumulating where windows
 * overlap; avg spreads g / (size * size) over the window. [zero-ok: NULL g gives NULL] */
DlTensor *dlrt_t_pool2d_backward(int32_t op, const DlTensor *g, const DlTensor *x,
                                 int64_t size, int64_t stride, int64_t padding,
                                 const char *loc);
/* Forward mode of max pooling: the tangent dx (x's shape) read at each
 * window's maximum of x, i.e. the result has pool2d's shape.
 * [zero-ok: NULL dx gives NULL] */
DlTensor *dlrt_t_max_pool2d_tangent(const DlTensor *dx, const DlTensor *x, int64_t size,
                                    int64_t stride, int64_t padding, const char *loc);

/* --- Runtime errors: print "runtime error: <loc>: <message>" to stderr, flush
 * stdout first, and exit with status 1. `loc` is "file:line:col". ------------ */
DLRT_NORETURN void dlrt_fail(const char *loc, const char *message);
DLRT_NORETURN void dlrt_fail_index(const char *loc, int64_t index, int64_t count);
DLRT_NORETURN void dlrt_fail_div_zero(const char *loc);
DLRT_NORETURN void dlrt_fail_overflow(const char *loc, const char *op);
DLRT_NORETURN void dlrt_fail_assert(const char *loc, const DlString *message);
DLRT_NORETURN void dlrt_fail_convert(const char *loc, double value);

/* The REPL: runs `entry(slots)`; a runtime error inside it prints its message
 * as above and returns here with 1 instead of ending the process (0 when the
 * call returns normally). Calls nest. What the interrupted code held is
 * leaked, never freed twice. */
int dlrt_call_trapping(void (*entry)(void **), void **slots);

#ifdef __cplusplus
}
#endif

#endif /* DLRT_H */
