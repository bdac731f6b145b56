// The N-API face of the kernels: argument checks, then plain C. gemm.c, exp.c and adamw.c say why each exists.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"

#if defined(__AVX512F__)
#define ISA "avx512"
#elif defined(__AVX__)
#define ISA "avx2"
#else
#define ISA "generic"
#endif

// Every N-API call here can only fail on arguments of the wrong type.
#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_type_error(env, NULL, "rmt kernels: arguments of the wrong type or count"); \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

// matmul(memory: ArrayBuffer, aOffset, bOffset, cOffset, batch, aBatch, bBatch, m, n, k, transA, transB)
// Offsets are in bytes into `memory`; aBatch and bBatch are `batch` or 1 (broadcast). Float32 only.
static napi_value Matmul(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) CHECK(napi_invalid_arg);
  void *memory;
  size_t length;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
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
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *memory;
  size_t length;
  int64_t v[3];
  if (argc != 4) CHECK(napi_invalid_arg);
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
  for (int i = 0; i < 3; i++) CHECK(napi_get_value_int64(env, argv[i + 1], &v[i]));
  int64_t xOff = v[0], outOff = v[1], count = v[2];
  if (xOff < 0 || outOff < 0 || count < 0 || (xOff | outOff) % 4 != 0 || xOff + count * 4 > (int64_t)length ||
      outOff + count * 4 > (int64_t)length) {
    napi_throw_range_error(env, NULL, "rmt kernels: exp operands outside the memory");
    return NULL;
  }
  rmt_exp((const float *)((char *)memory + xOff), (float *)((char *)memory + outOff), (size_t)count);
  return NULL;
}

// adamw(memory, [p, m, v, g, pOut, mOut, vOut] byte offsets, count, Float32Array of the 10 step constants)
static napi_value Adamw(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 4) CHECK(napi_invalid_arg);
  void *memory;
  size_t length;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &memory, &length));
  int64_t offsets[7], count;
  for (uint32_t i = 0; i < 7; i++) {
    napi_value item;
    CHECK(napi_get_element(env, argv[1], i, &item));
    CHECK(napi_get_value_int64(env, item, &offsets[i]));
  }
  CHECK(napi_get_value_int64(env, argv[2], &count));
  napi_typedarray_type type;
  size_t constants;
  void *data;
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &constants, &data, NULL, NULL));
  int ok = type == napi_float32_array && constants == 10 && count >= 0;
  for (int i = 0; i < 7 && ok; i++) ok = offsets[i] >= 0 && offsets[i] % 4 == 0 && offsets[i] + count * 4 <= (int64_t)length;
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

static napi_value Init(napi_env env, napi_value exports) {
  napi_value fn, isa;
  CHECK(napi_create_function(env, "matmul", NAPI_AUTO_LENGTH, Matmul, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "matmul", fn));
  CHECK(napi_create_function(env, "exp", NAPI_AUTO_LENGTH, Exp, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "exp", fn));
  CHECK(napi_create_function(env, "adamw", NAPI_AUTO_LENGTH, Adamw, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "adamw", fn));
  CHECK(napi_create_string_utf8(env, ISA, NAPI_AUTO_LENGTH, &isa));
  CHECK(napi_set_named_property(env, exports, "isa", isa));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
