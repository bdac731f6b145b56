// The transformer's small elementwise blocks as one kernel each. Written as tfjs ops, an RMSNorm is 6
// kernels, RoPE on q or k 6 (with a ±1 matmul for the half rotation), SwiGLU 4 with the split; a decode step
// of the bench model is ~245 kernel launches for 29 MFLOP, and each launch costs more than its arithmetic.
// Same expressions as the tfjs-op versions in @rmt/backend (fused.ts), in float32. Outputs are fresh tensors,
// never an input: every array is restrict, so that GCC vectorises the loops.
#include <stdlib.h>

#include "kernels.h"
#include "simd.h"

struct rowsJob {
  const float *a, *b, *c;
  float *out;
  int64_t heads, width;
  float eps;
  int failed;
};

static void rmsnormRows(void *ctx, int64_t from, int64_t to) {
  struct rowsJob *j = ctx;
  const float *restrict x = j->a, *restrict w = j->b;
  float *restrict out = j->out;
  int64_t dim = j->width;
  float eps = j->eps;
  for (int64_t r = from; r < to; r++) {
    const float *xr = x + r * dim;
    float *o = out + r * dim;
    float sum = dotOf(xr, xr, dim);
    float scale = 1.0f / __builtin_sqrtf(sum / (float)dim + eps);
    for (int64_t j = 0; j < dim; j++) o[j] = xr[j] * scale * w[j];
  }
}

// Rows are independent: the kernels below run their rows over the thread pool (the same bits for any
// count), RMSNorm's gradient excepted — its dw sums over rows, in row order.
void rmt_rmsnorm(const float *restrict x, const float *restrict w, float *restrict out, int64_t rows, int64_t dim, float eps) {
  struct rowsJob job = {.a = x, .b = w, .out = out, .width = dim, .eps = eps};
  rmt_parallel_range(rows, 2 * dim, 1, rmsnormRows, &job);
}

static void ropeRows(void *ctx, int64_t from, int64_t to) {
  struct rowsJob *j = ctx;
  const float *restrict x = j->a, *restrict cos = j->b, *restrict sin = j->c;
  float *restrict out = j->out;
  int64_t heads = j->heads, hd = j->width, half = hd / 2;
  for (int64_t r = from; r < to; r++) {
    const float *c = cos + r * hd, *s = sin + r * hd;
    for (int64_t h = 0; h < heads; h++) {
      const float *xi = x + (r * heads + h) * hd;
      float *o = out + (r * heads + h) * hd;
      for (int64_t i = 0; i < half; i++) o[i] = xi[i] * c[i] + (-xi[i + half]) * s[i];
      for (int64_t i = half; i < hd; i++) o[i] = xi[i] * c[i] + xi[i - half] * s[i];
    }
  }
}

void rmt_rope(const float *restrict x, const float *restrict cos, const float *restrict sin, float *restrict out, int64_t rows, int64_t heads, int64_t hd) {
  struct rowsJob job = {.a = x, .b = cos, .c = sin, .out = out, .heads = heads, .width = hd};
  rmt_parallel_range(rows, 2 * heads * hd, 1, ropeRows, &job);
}

static void swigluRows(void *ctx, int64_t from, int64_t to) {
  // e^−g for a row, vectorised by rmt_exp, then σ(g) = 1 / (1 + e^−g).
  struct rowsJob *job = ctx;
  const float *restrict gu = job->a;
  float *restrict out = job->out;
  int64_t hidden = job->width;
  float *e = malloc((size_t)(hidden > 0 ? hidden : 1) * sizeof(float));
  if (!e) {
    job->failed = 1;
    return;
  }
  for (int64_t r = from; r < to; r++) {
    const float *g = gu + r * 2 * hidden, *u = g + hidden;
    float *o = out + r * hidden;
    for (int64_t j = 0; j < hidden; j++) e[j] = -g[j];
    rmt_exp(e, e, (size_t)hidden);
    for (int64_t j = 0; j < hidden; j++) o[j] = g[j] * (1.0f / (1.0f + e[j])) * u[j];
  }
  free(e);
}

int rmt_swiglu(const float *restrict gu, float *restrict out, int64_t rows, int64_t hidden) {
  struct rowsJob job = {.a = gu, .out = out, .width = hidden};
  rmt_parallel_range(rows, 3 * hidden, 1, swigluRows, &job);
  return job.failed ? -1 : 0;
}

// Gradients of the three blocks, in one pass each (as tfjs ops each was 6–16 kernels).

void rmt_rmsnorm_grad(const float *restrict x, const float *restrict w, const float *restrict dy, float *restrict dx, float *restrict dw, int64_t rows, int64_t dim, float eps) {
  // r = (mean(x²) + eps)^−½: dx = r·(dy·w) − x·r³·mean(dy·w·x); dw = Σ over rows of dy·x·r.
  for (int64_t j = 0; j < dim; j++) dw[j] = 0.0f;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * dim, *g = dy + r * dim;
    float *o = dx + r * dim;
    float sum = dotOf(xr, xr, dim);
    vf acc = {0};
    int64_t j = 0;
    for (; j + VW <= dim; j += VW) acc += *(const vfu *)(g + j) * *(const vfu *)(w + j) * *(const vfu *)(xr + j);
    float dot = sumLanes(acc);
    for (; j < dim; j++) dot += g[j] * w[j] * xr[j];
    float s = 1.0f / __builtin_sqrtf(sum / (float)dim + eps);
    float c = s * s * s * (dot / (float)dim);
    for (int64_t j = 0; j < dim; j++) {
      o[j] = s * (g[j] * w[j]) - xr[j] * c;
      dw[j] += g[j] * xr[j] * s;
    }
  }
}

static void ropeGradRows(void *ctx, int64_t from, int64_t to) {
  // Linear in x: dx = dy·cos + Rᵀ(dy·sin), Rᵀ(z) = concat(z₂, −z₁).
  struct rowsJob *j = ctx;
  const float *restrict dy = j->a, *restrict cos = j->b, *restrict sin = j->c;
  float *restrict dx = j->out;
  int64_t heads = j->heads, hd = j->width, half = hd / 2;
  for (int64_t r = from; r < to; r++) {
    const float *c = cos + r * hd, *s = sin + r * hd;
    for (int64_t h = 0; h < heads; h++) {
      const float *g = dy + (r * heads + h) * hd;
      float *o = dx + (r * heads + h) * hd;
      for (int64_t i = 0; i < half; i++) o[i] = g[i] * c[i] + g[i + half] * s[i + half];
      for (int64_t i = half; i < hd; i++) o[i] = g[i] * c[i] - g[i - half] * s[i - half];
    }
  }
}

void rmt_rope_grad(const float *restrict dy, const float *restrict cos, const float *restrict sin, float *restrict dx, int64_t rows, int64_t heads, int64_t hd) {
  struct rowsJob job = {.a = dy, .b = cos, .c = sin, .out = dx, .heads = heads, .width = hd};
  rmt_parallel_range(rows, 2 * heads * hd, 1, ropeGradRows, &job);
}

static void swigluGradRows(void *ctx, int64_t from, int64_t to) {
  // s = σ(g): d gate = dy·up·s·(1 + g·(1 − s)); d up = dy·g·s.
  struct rowsJob *job = ctx;
  const float *restrict gu = job->a, *restrict dy = job->b;
  float *restrict dgu = job->out;
  int64_t hidden = job->width;
  float *e = malloc((size_t)(hidden > 0 ? hidden : 1) * sizeof(float));
  if (!e) {
    job->failed = 1;
    return;
  }
  for (int64_t r = from; r < to; r++) {
    const float *g = gu + r * 2 * hidden, *u = g + hidden, *d = dy + r * hidden;
    float *dg = dgu + r * 2 * hidden, *du = dg + hidden;
    for (int64_t j = 0; j < hidden; j++) e[j] = -g[j];
    rmt_exp(e, e, (size_t)hidden);
    for (int64_t j = 0; j < hidden; j++) {
      float s = 1.0f / (1.0f + e[j]);
      dg[j] = d[j] * u[j] * s * (1.0f + g[j] * (1.0f - s));
      du[j] = d[j] * g[j] * s;
    }
  }
  free(e);
}

int rmt_swiglu_grad(const float *restrict gu, const float *restrict dy, float *restrict dgu, int64_t rows, int64_t hidden) {
  struct rowsJob job = {.a = gu, .b = dy, .out = dgu, .width = hidden};
  rmt_parallel_range(rows, 5 * hidden, 1, swigluGradRows, &job);
  return job.failed ? -1 : 0;
}
