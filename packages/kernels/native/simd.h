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
static inline float sumLanes(vf v) {
  float l[VW];
  *(vfu *)l = v;
  for (int w = VW / 2; w > 0; w /= 2)
    for (int i = 0; i < w; i++) l[i] += l[i + w];
  return l[0];
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
