// The N-API face of the kernels: argument checks, then plain C. gemm.c, exp.c and adamw.c say why each exists.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "simd.h"

// Every N-API call here can only fail on arguments of the wrong type.
#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count"); \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

// Every kernel takes (memory, operands…, sizes…[, a float]). An operand is a byte offset into `memory` (an
// ArrayBuffer: the wasm heap), or a Float32Array of its own (a tensor of tfjs's cpu backend, outside any
// heap; `memory` may then be null). Each is checked to hold the floats the kernel will touch.
struct args {
  napi_env env;
  napi_value argv[12];
  char *base;    // the memory, or NULL
  size_t length; // its bytes
};

static bool typeError(napi_env env) {
  napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count");
  return false;
}

// Exactly n arguments; the first an ArrayBuffer, null or undefined.
static bool readArgs(napi_env env, napi_callback_info info, size_t n, struct args *a) {
  size_t argc = n;
  a->env = env, a->base = NULL, a->length = 0;
  if (napi_get_cb_info(env, info, &argc, a->argv, NULL, NULL) != napi_ok || argc != n) return typeError(env);
  napi_valuetype type;
  if (napi_typeof(env, a->argv[0], &type) != napi_ok) return typeError(env);
  if (type == napi_null || type == napi_undefined) return true;
  bool isBuffer = false;
  void *data = NULL;
  if (napi_is_arraybuffer(env, a->argv[0], &isBuffer) != napi_ok || !isBuffer ||
      napi_get_arraybuffer_info(env, a->argv[0], &data, &a->length) != napi_ok)
    return typeError(env);
  a->base = data;
  return true;
}

static bool intArg(struct args *a, napi_value v, int64_t *out) {
  return napi_get_value_int64(a->env, v, out) == napi_ok || typeError(a->env);
}

static bool rangeError(napi_env env, const char *what) {
  char text[128];
  snprintf(text, sizeof text, "rmt kernels: %s operands outside their memory or shapes invalid", what);
  napi_throw_range_error(env, NULL, text);
  return false;
}

// The address of an operand of `count` elements of `kind` (a byte offset into the memory, or a typed array of
// that kind).
static bool typedOperand(struct args *a, napi_value v, int64_t count, napi_typedarray_type kind, const char *what, void **out) {
  napi_valuetype type;
  if (napi_typeof(a->env, v, &type) != napi_ok) return typeError(a->env);
  if (count < 0) return rangeError(a->env, what);
  if (type == napi_number) {
    int64_t at;
    if (!intArg(a, v, &at)) return false;
    if (!a->base || at < 0 || at % 4 != 0 || count > (int64_t)(a->length / 4) || at > (int64_t)a->length - count * 4) return rangeError(a->env, what);
    *out = a->base + at;
    return true;
  }
  bool isTyped = false;
  napi_typedarray_type got;
  size_t length;
  void *data;
  if (napi_is_typedarray(a->env, v, &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(a->env, v, &got, &length, &data, NULL, NULL) != napi_ok || got != kind)
    return typeError(a->env);
  if ((int64_t)length < count) return rangeError(a->env, what);
  *out = data;
  return true;
}

// A float32 operand of `floats` elements.
static bool operand(struct args *a, napi_value v, int64_t floats, const char *what, float **out) {
  return typedOperand(a, v, floats, napi_float32_array, what, (void **)out);
}

// An array of n operands (the kernels that take a list), each of `floats` float32s (or, when floats is
// NULL, just its element, for the caller to check).
static bool listItem(struct args *a, napi_value list, uint32_t i, napi_value *item) {
  return napi_get_element(a->env, list, i, item) == napi_ok || typeError(a->env);
}

// matmul(memory, a, b, c, batch, aBatch, bBatch, m, n, k, transA, transB): aBatch and bBatch are `batch` or 1
// (one matrix shared by every product). Float32 only.
static napi_value Matmul(napi_env env, napi_callback_info info) {
  struct args a;
  if (!readArgs(env, info, 12, &a)) return NULL;
  int64_t v[6];
  for (int i = 0; i < 6; i++)
    if (!intArg(&a, a.argv[i + 4], &v[i])) return NULL;
  bool transA, transB;
  CHECK(napi_get_value_bool(env, a.argv[10], &transA));
  CHECK(napi_get_value_bool(env, a.argv[11], &transB));
  int64_t batch = v[0], aBatch = v[1], bBatch = v[2], m = v[3], n = v[4], k = v[5];
  if (m < 0 || n < 0 || k < 0 || batch < 0 || (aBatch != batch && aBatch != 1) || (bBatch != batch && bBatch != 1) || m > INT32_MAX / 4 ||
      n > INT32_MAX / 4 || k > INT32_MAX / 4) {
    rangeError(env, "matmul");
    return NULL;
  }
  float *pa, *pb, *pc;
  if (!operand(&a, a.argv[1], m * k * aBatch, "matmul", &pa) || !operand(&a, a.argv[2], k * n * bBatch, "matmul", &pb) ||
      !operand(&a, a.argv[3], m * n * batch, "matmul", &pc))
    return NULL;
  if (batch == 0) return NULL;
  if (rmt_gemm_batch(batch, (int)m, (int)n, (int)k, pa, aBatch == 1 ? 0 : m * k, transA, pb, bBatch == 1 ? 0 : k * n, transB, pc) != 0)
    napi_throw_error(env, NULL, "rmt kernels: out of memory for packing buffers");
  return NULL;
}

// exp(memory, x, out, count): out[i] = e^x[i] (out may be x).
static napi_value Exp(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t count;
  float *x, *out;
  if (!readArgs(env, info, 4, &a) || !intArg(&a, a.argv[3], &count) || !operand(&a, a.argv[1], count, "exp", &x) ||
      !operand(&a, a.argv[2], count, "exp", &out))
    return NULL;
  rmt_exp_parallel(x, out, (size_t)count);
  return NULL;
}

// adamw(memory, [p, m, v, g, pOut, mOut, vOut], count, Float32Array of the 10 step constants)
static napi_value Adamw(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t count;
  if (!readArgs(env, info, 4, &a) || !intArg(&a, a.argv[2], &count)) return NULL;
  float *ops[7];
  for (uint32_t i = 0; i < 7; i++) {
    napi_value item;
    if (!listItem(&a, a.argv[1], i, &item) || !operand(&a, item, count, "adamw", &ops[i])) return NULL;
  }
  napi_typedarray_type type;
  size_t constants;
  void *data;
  CHECK(napi_get_typedarray_info(env, a.argv[3], &type, &constants, &data, NULL, NULL));
  if (type != napi_float32_array || constants != 10) {
    rangeError(env, "adamw (10 float32 constants)");
    return NULL;
  }
  struct rmt_adamw_step step;
  memcpy(&step, data, sizeof step);
  rmt_adamw(ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], ops[6], (size_t)count, &step);
  return NULL;
}

// binary(memory, op, [a, b, out], Int32Array [shape…, aStrides…, bStrides…])
// op: 0 add, 1 subtract, 2 multiply, 3 divide. Strides are in elements, 0 where an operand broadcasts.
static napi_value Binary(napi_env env, napi_callback_info info) {
  struct args a;
  if (!readArgs(env, info, 4, &a)) return NULL;
  int32_t op;
  CHECK(napi_get_value_int32(env, a.argv[1], &op));
  napi_typedarray_type type;
  size_t count;
  void *data;
  CHECK(napi_get_typedarray_info(env, a.argv[3], &type, &count, &data, NULL, NULL));
  int rank = (int)(count / 3);
  int ok = type == napi_int32_array && count % 3 == 0 && rank <= RMT_MAX_RANK && op >= 0 && op <= 3;
  int64_t shape[RMT_MAX_RANK], as[RMT_MAX_RANK], bs[RMT_MAX_RANK], size = 1, aEnd = 0, bEnd = 0;
  const int32_t *dims = data;
  for (int d = 0; ok && d < rank; d++) {
    shape[d] = dims[d], as[d] = dims[rank + d], bs[d] = dims[2 * rank + d];
    ok = shape[d] >= 0 && as[d] >= 0 && bs[d] >= 0;
    size *= shape[d];
    aEnd += shape[d] > 0 ? (shape[d] - 1) * as[d] : 0;
    bEnd += shape[d] > 0 ? (shape[d] - 1) * bs[d] : 0;
  }
  if (!ok) {
    rangeError(env, "binary");
    return NULL;
  }
  // The last element each operand reaches, and the output's, must lie inside its memory.
  float *ops[3];
  int64_t floats[3] = {size ? aEnd + 1 : 0, size ? bEnd + 1 : 0, size};
  for (uint32_t i = 0; i < 3; i++) {
    napi_value item;
    if (!listItem(&a, a.argv[2], i, &item) || !operand(&a, item, floats[i], "binary", &ops[i])) return NULL;
  }
  if (size == 0) return NULL;
  rmt_binary(op, rank, shape, as, bs, ops[0], ops[1], ops[2]);
  return NULL;
}

// copy(memory, src, dst, Int32Array [shape…, srcStrides…, dstStrides…]): 4-byte elements, as float32 or int32
// operands (a byte offset into the memory, or a Float32Array or Int32Array).
static napi_value Copy(napi_env env, napi_callback_info info) {
  struct args a;
  if (!readArgs(env, info, 4, &a)) return NULL;
  napi_typedarray_type type;
  size_t count;
  void *data;
  CHECK(napi_get_typedarray_info(env, a.argv[3], &type, &count, &data, NULL, NULL));
  int rank = (int)(count / 3);
  int ok = type == napi_int32_array && count % 3 == 0 && rank <= RMT_MAX_RANK;
  int64_t shape[RMT_MAX_RANK], ss[RMT_MAX_RANK], ds[RMT_MAX_RANK], size = 1, sEnd = 0, dEnd = 0;
  const int32_t *dims = data;
  for (int d = 0; ok && d < rank; d++) {
    shape[d] = dims[d], ss[d] = dims[rank + d], ds[d] = dims[2 * rank + d];
    ok = shape[d] >= 0 && ss[d] >= 0 && ds[d] >= 0;
    size *= shape[d];
    sEnd += shape[d] > 0 ? (shape[d] - 1) * ss[d] : 0;
    dEnd += shape[d] > 0 ? (shape[d] - 1) * ds[d] : 0;
  }
  if (!ok) {
    rangeError(env, "copy");
    return NULL;
  }
  void *ends[2];
  int64_t elements[2] = {size ? sEnd + 1 : 0, size ? dEnd + 1 : 0};
  for (int i = 0; i < 2; i++) {
    napi_value v = a.argv[1 + i];
    bool isTyped = false;
    napi_typedarray_type kind = napi_float32_array;
    if (napi_is_typedarray(env, v, &isTyped) == napi_ok && isTyped) CHECK(napi_get_typedarray_info(env, v, &kind, &count, &data, NULL, NULL));
    if (kind != napi_float32_array && kind != napi_int32_array) return typeError(env), NULL;
    if (!typedOperand(&a, v, elements[i], kind, "copy", &ends[i])) return NULL;
  }
  if (size == 0) return NULL;
  rmt_copy(rank, shape, ss, ds, ends[0], ends[1]);
  return NULL;
}

// rmsnorm(memory, x, w, out, rows, dim, eps)
static napi_value RmsNorm(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, dim;
  double eps;
  float *x, *w, *out;
  if (!readArgs(env, info, 7, &a) || !intArg(&a, a.argv[4], &rows) || !intArg(&a, a.argv[5], &dim)) return NULL;
  CHECK(napi_get_value_double(env, a.argv[6], &eps));
  if (rows < 0 || dim < 0 || !operand(&a, a.argv[1], rows * dim, "rmsnorm", &x) || !operand(&a, a.argv[2], dim, "rmsnorm", &w) ||
      !operand(&a, a.argv[3], rows * dim, "rmsnorm", &out)) {
    if (rows < 0 || dim < 0) rangeError(env, "rmsnorm");
    return NULL;
  }
  rmt_rmsnorm(x, w, out, rows, dim, (float)eps);
  return NULL;
}

// rope(memory, x, cos, sin, out, rows, heads, headDim), and ropeGrad with dy for x and dx for out: the same
// layout, so one binding serves both (the function's data says which).
typedef void (*rope_fn)(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t);

static napi_value Rope(napi_env env, napi_callback_info info) {
  struct args a;
  void *which;
  int64_t rows, heads, hd;
  float *x, *c, *s, *out;
  if (!readArgs(env, info, 8, &a) || !intArg(&a, a.argv[5], &rows) || !intArg(&a, a.argv[6], &heads) || !intArg(&a, a.argv[7], &hd)) return NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &which));
  if (rows < 0 || heads < 0 || hd < 0 || hd % 2 != 0) {
    rangeError(env, "rope");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * heads * hd, "rope", &x) || !operand(&a, a.argv[2], rows * hd, "rope", &c) ||
      !operand(&a, a.argv[3], rows * hd, "rope", &s) || !operand(&a, a.argv[4], rows * heads * hd, "rope", &out))
    return NULL;
  (*(rope_fn *)which)(x, c, s, out, rows, heads, hd);
  return NULL;
}

static rope_fn ropeForward = rmt_rope, ropeBackward = rmt_rope_grad;

// swiglu(memory, gu, out, rows, hidden)
static napi_value Swiglu(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, hidden;
  float *gu, *out;
  if (!readArgs(env, info, 5, &a) || !intArg(&a, a.argv[3], &rows) || !intArg(&a, a.argv[4], &hidden)) return NULL;
  if (rows < 0 || hidden < 0) {
    rangeError(env, "swiglu");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * 2 * hidden, "swiglu", &gu) || !operand(&a, a.argv[2], rows * hidden, "swiglu", &out)) return NULL;
  if (rmt_swiglu(gu, out, rows, hidden) != 0) napi_throw_error(env, NULL, "rmt kernels: out of memory");
  return NULL;
}

// rmsnormGrad(memory, x, w, dy, dx, dw, rows, dim, eps)
static napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, dim;
  double eps;
  float *x, *w, *dy, *dx, *dw;
  if (!readArgs(env, info, 9, &a) || !intArg(&a, a.argv[6], &rows) || !intArg(&a, a.argv[7], &dim)) return NULL;
  CHECK(napi_get_value_double(env, a.argv[8], &eps));
  if (rows < 0 || dim < 0) {
    rangeError(env, "rmsnormGrad");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * dim, "rmsnormGrad", &x) || !operand(&a, a.argv[2], dim, "rmsnormGrad", &w) ||
      !operand(&a, a.argv[3], rows * dim, "rmsnormGrad", &dy) || !operand(&a, a.argv[4], rows * dim, "rmsnormGrad", &dx) ||
      !operand(&a, a.argv[5], dim, "rmsnormGrad", &dw))
    return NULL;
  rmt_rmsnorm_grad(x, w, dy, dx, dw, rows, dim, (float)eps);
  return NULL;
}

// swigluGrad(memory, gu, dy, dgu, rows, hidden)
static napi_value SwigluGrad(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, hidden;
  float *gu, *dy, *dgu;
  if (!readArgs(env, info, 6, &a) || !intArg(&a, a.argv[4], &rows) || !intArg(&a, a.argv[5], &hidden)) return NULL;
  if (rows < 0 || hidden < 0) {
    rangeError(env, "swigluGrad");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * 2 * hidden, "swigluGrad", &gu) || !operand(&a, a.argv[2], rows * hidden, "swigluGrad", &dy) ||
      !operand(&a, a.argv[3], rows * 2 * hidden, "swigluGrad", &dgu))
    return NULL;
  if (rmt_swiglu_grad(gu, dy, dgu, rows, hidden) != 0) napi_throw_error(env, NULL, "rmt kernels: out of memory");
  return NULL;
}

// sumSquares(memory, x, count) → Σ x² (a number, accumulated in double)
static napi_value SumSquares(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t count;
  float *x;
  napi_value out;
  if (!readArgs(env, info, 3, &a) || !intArg(&a, a.argv[2], &count) || !operand(&a, a.argv[1], count, "sumSquares", &x)) return NULL;
  CHECK(napi_create_double(env, rmt_sum_squares(x, (size_t)count), &out));
  return out;
}

// sample(memory, x, vocab, temperature, u, logProb: Float64Array) → the token (rmt_sample)
static napi_value Sample(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t vocab;
  double temperature, u;
  float *x;
  if (!readArgs(env, info, 6, &a) || !intArg(&a, a.argv[2], &vocab)) return NULL;
  CHECK(napi_get_value_double(env, a.argv[3], &temperature));
  CHECK(napi_get_value_double(env, a.argv[4], &u));
  double *logProb;
  if (!typedOperand(&a, a.argv[5], 1, napi_float64_array, "sample", (void **)&logProb)) return NULL;
  if (vocab < 1 || !(temperature >= 0) || !(u >= 0 && u < 1)) {
    rangeError(env, "sample");
    return NULL;
  }
  if (!operand(&a, a.argv[1], vocab, "sample", &x)) return NULL;
  // Scratch kept per thread: a fresh 49k-float buffer per draw would be mapped and faulted in every time.
  static __thread float *e = NULL;
  static __thread int64_t capacity = 0;
  if (vocab > capacity) {
    free(e);
    e = malloc((size_t)vocab * sizeof(float));
    capacity = e ? vocab : 0;
    if (!e) {
      napi_throw_error(env, NULL, "rmt kernels: sample: out of memory");
      return NULL;
    }
  }
  int64_t token = rmt_sample(x, vocab, (float)temperature, u, logProb, e);
  napi_value out;
  CHECK(napi_create_int64(env, token, &out));
  return out;
}

// entropy(memory, x, h, lse, rows, width) and entropyGrad(memory, x, h, lse, dy, dx, rows, width)
static napi_value Entropy(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, width;
  float *x, *h, *lse;
  if (!readArgs(env, info, 6, &a) || !intArg(&a, a.argv[4], &rows) || !intArg(&a, a.argv[5], &width)) return NULL;
  if (rows < 0 || width < 1) return rangeError(env, "entropy"), NULL;
  if (!operand(&a, a.argv[1], rows * width, "entropy", &x) || !operand(&a, a.argv[2], rows, "entropy", &h) ||
      !operand(&a, a.argv[3], rows, "entropy", &lse))
    return NULL;
  if (rmt_entropy(x, h, lse, rows, width) != 0) napi_throw_error(env, NULL, "rmt kernels: out of memory");
  return NULL;
}

static napi_value EntropyGrad(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, width;
  float *x, *h, *lse, *dy, *dx;
  if (!readArgs(env, info, 8, &a) || !intArg(&a, a.argv[6], &rows) || !intArg(&a, a.argv[7], &width)) return NULL;
  if (rows < 0 || width < 1) return rangeError(env, "entropyGrad"), NULL;
  if (!operand(&a, a.argv[1], rows * width, "entropyGrad", &x) || !operand(&a, a.argv[2], rows, "entropyGrad", &h) ||
      !operand(&a, a.argv[3], rows, "entropyGrad", &lse) || !operand(&a, a.argv[4], rows, "entropyGrad", &dy) ||
      !operand(&a, a.argv[5], rows * width, "entropyGrad", &dx))
    return NULL;
  rmt_entropy_grad(x, h, lse, dy, dx, rows, width);
  return NULL;
}

// softmax(memory, x, out, rows, width) and softmaxGrad(memory, y, dy, dx, rows, width)
static napi_value Softmax(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, width;
  float *x, *out;
  if (!readArgs(env, info, 5, &a) || !intArg(&a, a.argv[3], &rows) || !intArg(&a, a.argv[4], &width)) return NULL;
  if (rows < 0 || width < 0) {
    rangeError(env, "softmax");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * width, "softmax", &x) || !operand(&a, a.argv[2], rows * width, "softmax", &out)) return NULL;
  rmt_softmax(x, out, rows, width);
  return NULL;
}

static napi_value SoftmaxGrad(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, width;
  float *y, *dy, *dx;
  if (!readArgs(env, info, 6, &a) || !intArg(&a, a.argv[4], &rows) || !intArg(&a, a.argv[5], &width)) return NULL;
  if (rows < 0 || width < 0) {
    rangeError(env, "softmaxGrad");
    return NULL;
  }
  if (!operand(&a, a.argv[1], rows * width, "softmaxGrad", &y) || !operand(&a, a.argv[2], rows * width, "softmaxGrad", &dy) ||
      !operand(&a, a.argv[3], rows * width, "softmaxGrad", &dx))
    return NULL;
  rmt_softmax_grad(y, dy, dx, rows, width);
  return NULL;
}

// The targets of tokenLogProbs(Grad): int32, each in [0, vocab); a RangeError names the first that is not.
static bool targetsArg(struct args *a, napi_value v, int64_t rows, int64_t vocab, int32_t **out) {
  if (rows < 0 || vocab < 1) return rangeError(a->env, "tokenLogProbs");
  if (!typedOperand(a, v, rows, napi_int32_array, "tokenLogProbs", (void **)out)) return false;
  for (int64_t r = 0; r < rows; r++)
    if ((*out)[r] < 0 || (*out)[r] >= vocab) {
      char text[128];
      snprintf(text, sizeof text, "rmt kernels: tokenLogProbs: target id %d (row %lld) outside the vocabulary of %lld", (*out)[r], (long long)r,
               (long long)vocab);
      napi_throw_range_error(a->env, NULL, text);
      return false;
    }
  return true;
}

// tokenLogProbs(memory, logits, targets, lp, lse, rows, vocab)
static napi_value TokenLogProbs(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, vocab;
  float *x, *lp, *lse;
  int32_t *t;
  if (!readArgs(env, info, 7, &a) || !intArg(&a, a.argv[5], &rows) || !intArg(&a, a.argv[6], &vocab) || !targetsArg(&a, a.argv[2], rows, vocab, &t) ||
      !operand(&a, a.argv[1], rows * vocab, "tokenLogProbs", &x) || !operand(&a, a.argv[3], rows, "tokenLogProbs", &lp) ||
      !operand(&a, a.argv[4], rows, "tokenLogProbs", &lse))
    return NULL;
  if (rmt_token_logprobs(x, t, lp, lse, rows, vocab) != 0) napi_throw_error(env, NULL, "rmt kernels: out of memory");
  return NULL;
}

// tokenLogProbsGrad(memory, logits, targets, lse, dy, dx, rows, vocab)
static napi_value TokenLogProbsGrad(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t rows, vocab;
  float *x, *lse, *dy, *dx;
  int32_t *t;
  if (!readArgs(env, info, 8, &a) || !intArg(&a, a.argv[6], &rows) || !intArg(&a, a.argv[7], &vocab) || !targetsArg(&a, a.argv[2], rows, vocab, &t) ||
      !operand(&a, a.argv[1], rows * vocab, "tokenLogProbsGrad", &x) || !operand(&a, a.argv[3], rows, "tokenLogProbsGrad", &lse) ||
      !operand(&a, a.argv[4], rows, "tokenLogProbsGrad", &dy) || !operand(&a, a.argv[5], rows * vocab, "tokenLogProbsGrad", &dx))
    return NULL;
  rmt_token_logprobs_grad(x, t, lse, dy, dx, rows, vocab);
  return NULL;
}

// attention(memory, q, k, v, bias, out, batch, groups, rows, keys, hd, scale)
static napi_value Attention(napi_env env, napi_callback_info info) {
  struct args a;
  int64_t d[5];
  double scale;
  float *q, *k, *v, *bias, *out;
  if (!readArgs(env, info, 12, &a)) return NULL;
  for (int i = 0; i < 5; i++)
    if (!intArg(&a, a.argv[6 + i], &d[i])) return NULL;
  CHECK(napi_get_value_double(env, a.argv[11], &scale));
  int64_t batch = d[0], groups = d[1], rows = d[2], keys = d[3], hd = d[4];
  if (batch < 0 || groups < 0 || rows < 0 || keys < 0 || hd < 0) {
    rangeError(env, "attention");
    return NULL;
  }
  if (!operand(&a, a.argv[1], batch * groups * rows * hd, "attention", &q) || !operand(&a, a.argv[2], batch * groups * keys * hd, "attention", &k) ||
      !operand(&a, a.argv[3], batch * groups * keys * hd, "attention", &v) || !operand(&a, a.argv[4], batch * rows * keys, "attention", &bias) ||
      !operand(&a, a.argv[5], batch * groups * rows * hd, "attention", &out))
    return NULL;
  if (rmt_attention(q, k, v, bias, out, batch, groups, rows, keys, hd, (float)scale) != 0) napi_throw_error(env, NULL, "rmt kernels: out of memory");
  return NULL;
}

// setThreads(n): threads one product may use, for this process (n < 1: the default, the cores it may run on).
static napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok) {
    typeError(env);
    return NULL;
  }
  rmt_set_threads(n);
  return NULL;
}

// threads(): the current setting; defaultThreads(): the cores this process may run on.
static napi_value Threads(napi_env env, napi_callback_info info) {
  void *which;
  napi_value out;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &which));
  CHECK(napi_create_int32(env, which ? rmt_default_threads() : rmt_threads(), &out));
  return out;
}

static int defaultFlag = 1;

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn, isa;
  CHECK(napi_create_function(env, "matmul", NAPI_AUTO_LENGTH, Matmul, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "matmul", fn));
  CHECK(napi_create_function(env, "exp", NAPI_AUTO_LENGTH, Exp, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "exp", fn));
  CHECK(napi_create_function(env, "adamw", NAPI_AUTO_LENGTH, Adamw, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "adamw", fn));
  CHECK(napi_create_function(env, "binary", NAPI_AUTO_LENGTH, Binary, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "binary", fn));
  CHECK(napi_create_function(env, "copy", NAPI_AUTO_LENGTH, Copy, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "copy", fn));
  CHECK(napi_create_function(env, "rmsnorm", NAPI_AUTO_LENGTH, RmsNorm, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "rmsnorm", fn));
  CHECK(napi_create_function(env, "rope", NAPI_AUTO_LENGTH, Rope, &ropeForward, &fn));
  CHECK(napi_set_named_property(env, exports, "rope", fn));
  CHECK(napi_create_function(env, "swiglu", NAPI_AUTO_LENGTH, Swiglu, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "swiglu", fn));
  CHECK(napi_create_function(env, "rmsnormGrad", NAPI_AUTO_LENGTH, RmsNormGrad, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "rmsnormGrad", fn));
  CHECK(napi_create_function(env, "ropeGrad", NAPI_AUTO_LENGTH, Rope, &ropeBackward, &fn));
  CHECK(napi_set_named_property(env, exports, "ropeGrad", fn));
  CHECK(napi_create_function(env, "swigluGrad", NAPI_AUTO_LENGTH, SwigluGrad, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "swigluGrad", fn));
  CHECK(napi_create_function(env, "entropy", NAPI_AUTO_LENGTH, Entropy, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "entropy", fn));
  CHECK(napi_create_function(env, "entropyGrad", NAPI_AUTO_LENGTH, EntropyGrad, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "entropyGrad", fn));
  CHECK(napi_create_function(env, "sample", NAPI_AUTO_LENGTH, Sample, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "sample", fn));
  CHECK(napi_create_function(env, "sumSquares", NAPI_AUTO_LENGTH, SumSquares, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "sumSquares", fn));
  CHECK(napi_create_function(env, "softmax", NAPI_AUTO_LENGTH, Softmax, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "softmax", fn));
  CHECK(napi_create_function(env, "softmaxGrad", NAPI_AUTO_LENGTH, SoftmaxGrad, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "softmaxGrad", fn));
  CHECK(napi_create_function(env, "tokenLogProbs", NAPI_AUTO_LENGTH, TokenLogProbs, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "tokenLogProbs", fn));
  CHECK(napi_create_function(env, "tokenLogProbsGrad", NAPI_AUTO_LENGTH, TokenLogProbsGrad, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "tokenLogProbsGrad", fn));
  CHECK(napi_create_function(env, "attention", NAPI_AUTO_LENGTH, Attention, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "attention", fn));
  CHECK(napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, SetThreads, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "setThreads", fn));
  CHECK(napi_create_function(env, "threads", NAPI_AUTO_LENGTH, Threads, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "threads", fn));
  CHECK(napi_create_function(env, "defaultThreads", NAPI_AUTO_LENGTH, Threads, &defaultFlag, &fn));
  CHECK(napi_set_named_property(env, exports, "defaultThreads", fn));
  CHECK(napi_create_string_utf8(env, ISA, NAPI_AUTO_LENGTH, &isa));
  CHECK(napi_set_named_property(env, exports, "isa", isa));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
