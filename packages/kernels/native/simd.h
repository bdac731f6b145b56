// The vector width the compiler targets on this machine (-march=native) and float vectors of that width,
// shared by the vectorised kernels.
#pragma once
#include <stdint.h>

#if defined(__AVX512F__)
#define VW 16
#define ISA "avx512"
#elif defined(__AVX2__)
#define VW 8
#define ISA "avx2"
#elif defined(__AVX__)
#define VW 8
#define ISA "avx"
#else
#define VW 4
#define ISA "generic"
#endif

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
// The same vector type at float alignment, for loads from and stores to the caller's memory.
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4)));

// Reductions over a row in VW partial results, then a tree of halves: vectorised (the compiler does not
// reorder a float sum by itself, and one chain of dependent adds runs at a quarter of the adder's rate),
// and in a fixed order, so a row gives the same bits on every call.
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define RMT_SHUFFLE 1
#endif
#endif
static inline float sumLanes(vf v) {
#ifdef RMT_SHUFFLE
  // In registers: lanes i and i + w added, w = VW/2, …, 1 (the order of the loop below).
  typedef float v8 __attribute__((vector_size(32)));
  typedef float v4 __attribute__((vector_size(16)));
  typedef float v2 __attribute__((vector_size(8)));
#if VW == 16
  v8 h8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif VW == 8
  v8 h8 = v;
#endif
#if VW >= 8
  v4 h4 = __builtin_shufflevector(h8, h8, 0, 1, 2, 3) + __builtin_shufflevector(h8, h8, 4, 5, 6, 7);
#else
  v4 h4 = v;
#endif
  v2 h2 = __builtin_shufflevector(h4, h4, 0, 1) + __builtin_shufflevector(h4, h4, 2, 3);
  return h2[0] + h2[1];
#else
  float l[VW];
  *(vfu *)l = v;
  for (int w = VW / 2; w > 0; w /= 2)
    for (int i = 0; i < w; i++) l[i] += l[i + w];
  return l[0];
#endif
}

// Lane-wise a > b ? a : b (a NaN in a is skipped, as the scalar `x > m ? x : m` skips it).
static inline vf maxVec(vf a, vf b) {
  vi gt = (vi)(a > b);
  return (vf)(((vi)a & gt) | ((vi)b & ~gt));
}

static inline float sumOf(const float *x, int64_t n) {
  vf acc = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) acc += *(const vfu *)(x + i);
  float sum = sumLanes(acc);
  for (; i < n; i++) sum += x[i];
  return sum;
}

static inline float dotOf(const float *a, const float *b, int64_t n) {
  vf acc = {0};
  int64_t i = 0;
  for (; i + VW <= n; i += VW) acc += *(const vfu *)(a + i) * *(const vfu *)(b + i);
  float sum = sumLanes(acc);
  for (; i < n; i++) sum += a[i] * b[i];
  return sum;
}

static inline float maxOf(const float *x, int64_t n) {
  float m = -__builtin_inff();
  int64_t i = 0;
  if (n >= VW) {
    vf acc = *(const vfu *)x;
    for (i = VW; i + VW <= n; i += VW) acc = maxVec(*(const vfu *)(x + i), acc);
    float l[VW];
    *(vfu *)l = acc;
    for (int j = 0; j < VW; j++) m = l[j] > m ? l[j] : m;
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

// Whether any lane of a comparison's result is set.
static inline int anyLane(vi mask) {
  int64_t l[VW / 2];
  __builtin_memcpy(l, &mask, sizeof mask);
  int64_t any = 0;
  for (int i = 0; i < VW / 2; i++) any |= l[i];
  return any != 0;
}
