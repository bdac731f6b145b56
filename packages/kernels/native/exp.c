// e^x over float32 arrays, vectorised. The WebAssembly backend's Exp calls a scalar libm exp per element
// (~5 ns); a training step exponentiates the whole [tokens × vocab] logits twice (log-softmax and its
// gradient). Here: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so r is exact), e^r by Cephes' degree-6
// polynomial, times 2^n built in the exponent bits. Blocks holding a NaN or an x whose e^x is not a normal
// float (x > 88.72, or x in [−103.98, −87.33) where it is subnormal) go to libm's expf, element by element;
// below −103.98 it is 0.
#include <math.h>
#include <stdint.h>

#include "kernels.h"
#include "simd.h"

static inline vf splat(float v) { return (vf){0} + v; }

void rmt_exp(const float *x, float *out, size_t count) {
  size_t i = 0;
  for (; i + VW <= count; i += VW) {
    vf v = *(const vfu *)(x + i);
    // Lanes below −103.98 have e^x = 0 exactly (below half the smallest subnormal): a masked logit or score
    // (−1e30, half of every causal attention row) stays on the vector path, as 0.
    vi subnormal = (vi)(v < splat(-87.33654f)) & (vi)(v >= splat(-103.972084f));
    if (anyLane(subnormal | ~(vi)(v <= splat(88.72283f)))) {
      for (int l = 0; l < VW; l++) out[i + l] = expf(x[i + l]);
      continue;
    }
    vi zero = (vi)(v < splat(-103.972084f));
    v = (vf)(((vi)v & ~zero) | ((vi)splat(-87.0f) & zero));
    // n = round(x / ln 2): adding 1.5·2^23 rounds to an integer in float arithmetic.
    vf n = v * splat(1.44269504088896341f) + splat(12582912.0f) - splat(12582912.0f);
    vf r = v - n * splat(0.693359375f) - n * splat(-2.12194440e-4f);
    vf p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    vf er = p * r * r + r + splat(1.0f);
    // 2^n as two factors 2^h·2^(n−h), h = n/2: each stays a normal float for n in [−126, 128].
    vi ni = __builtin_convertvector(n, vi), h = ni >> 1;
    vf twoH = (vf)((h + 127) << 23), twoRest = (vf)((ni - h + 127) << 23);
    *(vfu *)(out + i) = (vf)((vi)(er * twoH * twoRest) & ~zero);
  }
  for (; i < count; i++) out[i] = expf(x[i]);
}

struct expJob {
  const float *x;
  float *out;
};

static void expRange(void *ctx, int64_t from, int64_t to) {
  struct expJob *j = ctx;
  rmt_exp(j->x + from, j->out + from, (size_t)(to - from));
}

void rmt_exp_parallel(const float *x, float *out, size_t count) {
  // Edges at multiples of 64: each element takes the same path (vector or libm) for any thread count.
  struct expJob job = {x, out};
  rmt_parallel_range((int64_t)count, 2, 64, expRange, &job);
}

