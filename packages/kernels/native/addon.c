// The N-API face of the kernels: argument checks, then plain C. gemm.c, exp.c and adamw.c say why each exists.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
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

// Most kernels take (memory, byte offsets…, sizes…[, a float]): all integers but an optional trailing float.
// Reads them into ints[] and, when hasFloat, *f; false (with a TypeError thrown) on a wrong type or count.
// Exactly n arguments into argv, the first an ArrayBuffer (the memory); false, with a TypeError thrown, otherwise.
static bool memoryArgs(napi_env env, napi_callback_info info, size_t n, napi_value *argv, void **memory, size_t *length) {
  size_t argc = n;
  bool ok = napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == n &&
            napi_get_arraybuffer_info(env, argv[0], memory, length) == napi_ok;
  if (!ok) napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count");
  return ok;
}

static bool intArgs(napi_env env, napi_callback_info info, size_t ints, bool hasFloat, void **memory, size_t *length,
                    int64_t *out, double *f) {
  napi_value argv[10];
  if (!memoryArgs(env, info, 1 + ints + (hasFloat ? 1 : 0), argv, memory, length)) return false;
  bool ok = true;
  for (size_t i = 0; ok && i < ints; i++) ok = napi_get_value_int64(env, argv[1 + i], &out[i]) == napi_ok;
  if (ok && hasFloat) ok = napi_get_value_double(env, argv[1 + ints], f) == napi_ok;
  if (!ok) napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count");
  return ok;
}

// Whether `floats` float32s at byte offset `at` lie inside a memory of `length` bytes.
static bool inside(int64_t at, int64_t floats, size_t length) {
  return at >= 0 && at % 4 == 0 && floats >= 0 && at + floats * 4 <= (int64_t)length;
}

#define OUTSIDE(name)                                                                      \
  do {                                                                                     \
    napi_throw_range_error(env, NULL, "rmt kernels: " name " operands outside the memory"); \
    return NULL;                                                                           \
  } while (0)

// An array of n byte offsets (the kernels that take a list of operands).
static bool offsetList(napi_env env, napi_value list, uint32_t n, int64_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, list, i, &item) != napi_ok || napi_get_value_int64(env, item, &out[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count");
      return false;
    }
  }
  return true;
}

// matmul(memory: ArrayBuffer, aOffset, bOffset, cOffset, batch, aBatch, bBatch, m, n, k, transA, transB)
// Offsets are in bytes into `memory`; aBatch and bBatch are `batch` or 1 (broadcast). Float32 only.
static napi_value Matmul(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  void *memory;
  size_t length;
  if (!memoryArgs(env, info, 12, argv, &memory, &length)) return NULL;
  int64_t v[9];
  for (int i = 0; i < 9; i++) CHECK(napi_get_value_int64(env, argv[i + 1], &v[i]));
  bool transA, transB;
  CHECK(napi_get_value_bool(env, argv[10], &transA));
  CHECK(napi_get_value_bool(env, argv[11], &transB));
  int64_t aOff = v[0], bOff = v[1], cOff = v[2], batch = v[3], aBatch = v[4], bBatch = v[5], m = v[6], n = v[7], k = v[8];
  int64_t aSize = m * k * 4, bSize = k * n * 4, cSize = m * n * 4;
  if (m < 0 || n < 0 || k < 0 || batch < 0 || (aBatch != batch && aBatch != 1) || (bBatch != batch && bBatch != 1) ||
      aOff < 0 || bOff < 0 || cOff < 0 || (aOff | bOff | cOff) % 4 != 0 || aOff + aSize * aBatch > (int64_t)length ||
      bOff + bSize * bBatch > (int64_t)length || cOff + cSize * batch > (int64_t)length || m > INT32_MAX / 4 ||
      n > INT32_MAX / 4 || k > INT32_MAX / 4) {
    napi_throw_range_error(env, NULL, "rmt kernels: matmul operands outside the memory or shapes invalid");
    return NULL;
  }
  char *base = memory;
  for (int64_t i = 0; i < batch; i++) {
    const float *a = (const float *)(base + aOff + (aBatch == 1 ? 0 : i * aSize));
    const float *b = (const float *)(base + bOff + (bBatch == 1 ? 0 : i * bSize));
    float *c = (float *)(base + cOff + i * cSize);
    if (rmt_gemm((int)m, (int)n, (int)k, a, transA, b, transB, c) != 0) {
      napi_throw_error(env, NULL, "rmt kernels: out of memory for packing buffers");
      return NULL;
    }
  }
  return NULL;
}

// exp(memory: ArrayBuffer, xOffset, outOffset, count): out[i] = e^x[i] over float32s at byte offsets.
static napi_value Exp(napi_env env, napi_callback_info info) {
  void *memory;
  size_t length;
  int64_t v[3];
  if (!intArgs(env, info, 3, false, &memory, &length, v, NULL)) return NULL;
  if (!inside(v[0], v[2], length) || !inside(v[1], v[2], length)) OUTSIDE("exp");
  rmt_exp((const float *)((char *)memory + v[0]), (float *)((char *)memory + v[1]), (size_t)v[2]);
  return NULL;
}

// adamw(memory, [p, m, v, g, pOut, mOut, vOut] byte offsets, count, Float32Array of the 10 step constants)
static napi_value Adamw(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  void *memory;
  size_t length;
  if (!memoryArgs(env, info, 4, argv, &memory, &length)) return NULL;
  int64_t offsets[7], count;
  if (!offsetList(env, argv[1], 7, offsets)) return NULL;
  CHECK(napi_get_value_int64(env, argv[2], &count));
  napi_typedarray_type type;
  size_t constants;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &constants, &data, NULL, NULL));
  int ok = type == napi_float32_array && constants == 10 && count >= 0;
  for (int i = 0; i < 7 && ok; i++) ok = inside(offsets[i], count, length);
  if (!ok) {
    napi_throw_range_error(env, NULL, "rmt kernels: adamw operands outside the memory, or not 10 float32 constants");
    return NULL;
  }
  struct rmt_adamw_step step;
  memcpy(&step, data, sizeof step);
  char *base = memory;
  rmt_adamw((const float *)(base + offsets[0]), (const float *)(base + offsets[1]), (const float *)(base + offsets[2]),
            (const float *)(base + offsets[3]), (float *)(base + offsets[4]), (float *)(base + offsets[5]),
            (float *)(base + offsets[6]), (size_t)count, &step);
  return NULL;
}

// binary(memory, op, [aOffset, bOffset, outOffset], Int32Array [shape…, aStrides…, bStrides…])
// op: 0 add, 1 subtract, 2 multiply, 3 divide. Strides are in elements, 0 where an operand broadcasts.
static napi_value Binary(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  void *memory;
  size_t length;
  if (!memoryArgs(env, info, 4, argv, &memory, &length)) return NULL;
  int32_t op;
  CHECK(napi_get_value_int32(env, argv[1], &op));
  int64_t offsets[3];
  if (!offsetList(env, argv[2], 3, offsets)) return NULL;
  napi_typedarray_type type;
  size_t count;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &count, &data, NULL, NULL));
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
  for (int i = 0; i < 3 && ok; i++) ok = offsets[i] >= 0 && offsets[i] % 4 == 0;
  // The last element each operand reaches, and the output's, must lie inside the memory.
  ok = ok && (size == 0 || (offsets[0] + (aEnd + 1) * 4 <= (int64_t)length && offsets[1] + (bEnd + 1) * 4 <= (int64_t)length &&
                            offsets[2] + size * 4 <= (int64_t)length));
  if (!ok) {
    napi_throw_range_error(env, NULL, "rmt kernels: binary operands outside the memory or shapes invalid");
    return NULL;
  }
  if (size == 0) return NULL;
  char *base = memory;
  rmt_binary(op, rank, shape, as, bs, (const float *)(base + offsets[0]), (const float *)(base + offsets[1]),
             (float *)(base + offsets[2]));
  return NULL;
}

// rmsnorm(memory, xOffset, wOffset, outOffset, rows, dim, eps)
static napi_value RmsNorm(napi_env env, napi_callback_info info) {
  void *memory;
  size_t length;
  int64_t v[5];
  double eps;
  if (!intArgs(env, info, 5, true, &memory, &length, v, &eps)) return NULL;
  int64_t rows = v[3], dim = v[4];
  if (rows < 0 || dim < 0 || !inside(v[0], rows * dim, length) || !inside(v[1], dim, length) || !inside(v[2], rows * dim, length))
    OUTSIDE("rmsnorm");
  char *base = memory;
  rmt_rmsnorm((const float *)(base + v[0]), (const float *)(base + v[1]), (float *)(base + v[2]), rows, dim, (float)eps);
  return NULL;
}

// rope(memory, xOffset, cosOffset, sinOffset, outOffset, rows, heads, headDim), and ropeGrad with dy for x
// and dx for out: the same layout, so one binding serves both (the function's data says which).
typedef void (*rope_fn)(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t);

static napi_value Rope(napi_env env, napi_callback_info info) {
  void *memory, *which;
  size_t length;
  int64_t v[7];
  if (!intArgs(env, info, 7, false, &memory, &length, v, NULL)) return NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &which));
  int64_t rows = v[4], heads = v[5], hd = v[6];
  if (rows < 0 || heads < 0 || hd < 0 || hd % 2 != 0 || !inside(v[0], rows * heads * hd, length) || !inside(v[1], rows * hd, length) ||
      !inside(v[2], rows * hd, length) || !inside(v[3], rows * heads * hd, length))
    OUTSIDE("rope");
  char *base = memory;
  (*(rope_fn *)which)((const float *)(base + v[0]), (const float *)(base + v[1]), (const float *)(base + v[2]), (float *)(base + v[3]),
                      rows, heads, hd);
  return NULL;
}

static rope_fn ropeForward = rmt_rope, ropeBackward = rmt_rope_grad;

// swiglu(memory, guOffset, outOffset, rows, hidden)
static napi_value Swiglu(napi_env env, napi_callback_info info) {
  void *memory;
  size_t length;
  int64_t v[4];
  if (!intArgs(env, info, 4, false, &memory, &length, v, NULL)) return NULL;
  int64_t rows = v[2], hidden = v[3];
  if (rows < 0 || hidden < 0 || !inside(v[0], rows * 2 * hidden, length) || !inside(v[1], rows * hidden, length)) OUTSIDE("swiglu");
  char *base = memory;
  if (rmt_swiglu((const float *)(base + v[0]), (float *)(base + v[1]), rows, hidden) != 0) {
    napi_throw_error(env, NULL, "rmt kernels: out of memory");
    return NULL;
  }
  return NULL;
}

// rmsnormGrad(memory, xOffset, wOffset, dyOffset, dxOffset, dwOffset, rows, dim, eps)
static napi_value RmsNormGrad(napi_env env, napi_callback_info info) {
  void *memory;
  size_t length;
  int64_t v[7];
  double eps;
  if (!intArgs(env, info, 7, true, &memory, &length, v, &eps)) return NULL;
  int64_t rows = v[5], dim = v[6];
  if (rows < 0 || dim < 0 || !inside(v[0], rows * dim, length) || !inside(v[1], dim, length) || !inside(v[2], rows * dim, length) ||
      !inside(v[3], rows * dim, length) || !inside(v[4], dim, length))
    OUTSIDE("rmsnormGrad");
  char *base = memory;
  rmt_rmsnorm_grad((const float *)(base + v[0]), (const float *)(base + v[1]), (const float *)(base + v[2]), (float *)(base + v[3]),
                   (float *)(base + v[4]), rows, dim, (float)eps);
  return NULL;
}

// swigluGrad(memory, guOffset, dyOffset, dguOffset, rows, hidden)
static napi_value SwigluGrad(napi_env env, napi_callback_info info) {
  void *memory;
  size_t length;
  int64_t v[5];
  if (!intArgs(env, info, 5, false, &memory, &length, v, NULL)) return NULL;
  int64_t rows = v[3], hidden = v[4];
  if (rows < 0 || hidden < 0 || !inside(v[0], rows * 2 * hidden, length) || !inside(v[1], rows * hidden, length) ||
      !inside(v[2], rows * 2 * hidden, length))
    OUTSIDE("swigluGrad");
  char *base = memory;
  if (rmt_swiglu_grad((const float *)(base + v[0]), (const float *)(base + v[1]), (float *)(base + v[2]), rows, hidden) != 0) {
    napi_throw_error(env, NULL, "rmt kernels: out of memory");
    return NULL;
  }
  return NULL;
}

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
  CHECK(napi_create_string_utf8(env, ISA, NAPI_AUTO_LENGTH, &isa));
  CHECK(napi_set_named_property(env, exports, "isa", isa));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
