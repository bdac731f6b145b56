// Row-wise reductions of a training step, one pass (or two) over memory where tfjs ops take several, each
// allocating an array as large as its input: softmax and its gradient (attention: [B, heads, T, S] per
// layer), the log-probability of each row's target token and its gradient (the head: [tokens, vocabulary],
// the largest activation of a step), and a sum of squares (the global gradient norm over every parameter).
#include <math.h>
#include <stdlib.h>

#include "kernels.h"
#include "simd.h"

double rmt_sum_squares(const float *x, size_t count) {
  // Eight double accumulators: exact enough for any model (a float32 sum of 10⁸ squares loses digits) and
  // independent chains, so the loop runs at memory speed; the fold order is fixed, so the result is too.
  double acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += (double)x[i + l] * (double)x[i + l];
  for (; i < count; i++) acc[0] += (double)x[i] * (double)x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// e = e^(x − max x) over one row of n (vectorised by rmt_exp; e may be x); returns Σ e and sets *max.
static float expShifted(const float *x, float *e, int64_t n, float *max) {
  float m = maxOf(x, n);
  for (int64_t j = 0; j < n; j++) e[j] = x[j] - m;
  rmt_exp(e, e, (size_t)n);
  *max = m;
  return sumOf(e, n);
}

// The row kernels below run their rows over the thread pool: rows are independent, so the bits are the
// same for any thread count.
struct rowsJob {
  const float *x, *y, *lse, *h;
  const int32_t *targets;
  float *out, *out2;
  int64_t width;
  int failed;
};

static void softmaxRows(void *ctx, int64_t from, int64_t to) {
  struct rowsJob *j = ctx;
  for (int64_t r = from; r < to; r++) {
    float max, *o = j->out + r * j->width;
    float scale = 1.0f / expShifted(j->x + r * j->width, o, j->width, &max);
    for (int64_t c = 0; c < j->width; c++) o[c] *= scale;
  }
}

void rmt_softmax(const float *restrict x, float *restrict out, int64_t rows, int64_t width) {
  struct rowsJob job = {.x = x, .out = out, .width = width};
  rmt_parallel_range(rows, 2 * width, 1, softmaxRows, &job);
}

static void softmaxGradRows(void *ctx, int64_t from, int64_t to) {
  // dx = y·(dy − Σ dy·y), per row.
  struct rowsJob *j = ctx;
  for (int64_t r = from; r < to; r++) {
    const float *yr = j->y + r * j->width, *g = j->x + r * j->width;
    float *o = j->out + r * j->width;
    float dot = dotOf(g, yr, j->width);
    for (int64_t c = 0; c < j->width; c++) o[c] = yr[c] * (g[c] - dot);
  }
}

void rmt_softmax_grad(const float *restrict y, const float *restrict dy, float *restrict dx, int64_t rows, int64_t width) {
  struct rowsJob job = {.x = dy, .y = y, .out = dx, .width = width};
  rmt_parallel_range(rows, 3 * width, 1, softmaxGradRows, &job);
}

static void tokenLogProbsRows(void *ctx, int64_t from, int64_t to) {
  // lse = max + log Σ e^(x − max); lp = x[target] − lse. e^(x − max) goes through a row buffer for rmt_exp.
  struct rowsJob *j = ctx;
  float *e = malloc((size_t)(j->width > 0 ? j->width : 1) * sizeof(float));
  if (!e) {
    j->failed = 1;
    return;
  }
  for (int64_t r = from; r < to; r++) {
    const float *xr = j->x + r * j->width;
    float max, sum = expShifted(xr, e, j->width, &max);
    j->out2[r] = max + logf(sum);
    j->out[r] = xr[j->targets[r]] - j->out2[r];
  }
  free(e);
}

int rmt_token_logprobs(const float *restrict logits, const int32_t *restrict targets, float *restrict lp, float *restrict lse, int64_t rows,
                       int64_t vocab) {
  struct rowsJob job = {.x = logits, .targets = targets, .out = lp, .out2 = lse, .width = vocab};
  rmt_parallel_range(rows, 2 * vocab, 1, tokenLogProbsRows, &job);
  return job.failed ? -1 : 0;
}

static void tokenLogProbsGradRows(void *ctx, int64_t from, int64_t to) {
  // d lp / d x_j = [j = target] − softmax_j: dx = −dy·e^(x − lse), plus dy at the target.
  struct rowsJob *j = ctx;
  for (int64_t r = from; r < to; r++) {
    const float *xr = j->x + r * j->width;
    float *o = j->out + r * j->width, dy = j->y[r];
    for (int64_t c = 0; c < j->width; c++) o[c] = xr[c] - j->lse[r];
    rmt_exp(o, o, (size_t)j->width);
    for (int64_t c = 0; c < j->width; c++) o[c] *= -dy;
    o[j->targets[r]] += dy;
  }
}

void rmt_token_logprobs_grad(const float *restrict logits, const int32_t *restrict targets, const float *restrict lse, const float *restrict dy,
                             float *restrict dx, int64_t rows, int64_t vocab) {
  struct rowsJob job = {.x = logits, .y = dy, .lse = lse, .targets = targets, .out = dx, .width = vocab};
  rmt_parallel_range(rows, 2 * vocab, 1, tokenLogProbsGradRows, &job);
}

static void entropyRows(void *ctx, int64_t from, int64_t to) {
  // With d = x − max and e = e^d: H = −Σ p·log p = log Σe − Σ e·d / Σe, terms with e = 0 taken as 0 (their
  // d may be −∞); lse = max + log Σe, for the gradient.
  struct rowsJob *j = ctx;
  int64_t n = j->width;
  float *e = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  if (!e) {
    j->failed = 1;
    return;
  }
  for (int64_t r = from; r < to; r++) {
    const float *xr = j->x + r * n;
    float max, sum = expShifted(xr, e, n, &max);
    vf acc = {0};
    int64_t c = 0;
    for (; c + VW <= n; c += VW) {
      vf ev = *(const vfu *)(e + c), term = ev * (*(const vfu *)(xr + c) - max);
      acc += (vf)((vi)term & (vi)(ev > 0));
    }
    float dot = sumLanes(acc);
    for (; c < n; c++)
      if (e[c] > 0) dot += e[c] * (xr[c] - max);
    j->out[r] = logf(sum) - dot / sum;
    j->out2[r] = max + logf(sum);
  }
  free(e);
}

int rmt_entropy(const float *restrict x, float *restrict h, float *restrict lse, int64_t rows, int64_t width) {
  struct rowsJob job = {.x = x, .out = h, .out2 = lse, .width = width};
  rmt_parallel_range(rows, 2 * width, 1, entropyRows, &job);
  return job.failed ? -1 : 0;
}

static void entropyGradRows(void *ctx, int64_t from, int64_t to) {
  // ∂H/∂x = −p·(log p + H), p = e^(x − lse); 0 where p is 0.
  struct rowsJob *j = ctx;
  int64_t n = j->width;
  for (int64_t r = from; r < to; r++) {
    const float *xr = j->x + r * n;
    float *o = j->out + r * n, dy = j->y[r], h = j->h[r], l = j->lse[r];
    for (int64_t c = 0; c < n; c++) o[c] = xr[c] - l;
    rmt_exp(o, o, (size_t)n);
    for (int64_t c = 0; c < n; c++) o[c] = o[c] > 0 ? -dy * o[c] * ((xr[c] - l) + h) : 0.0f;
  }
}

void rmt_entropy_grad(const float *restrict x, const float *restrict h, const float *restrict lse, const float *restrict dy, float *restrict dx,
                      int64_t rows, int64_t width) {
  struct rowsJob job = {.x = x, .y = dy, .lse = lse, .h = h, .out = dx, .width = width};
  rmt_parallel_range(rows, 2 * width, 1, entropyGradRows, &job);
}

struct attentionJob {
  const float *q, *k, *v, *bias;
  float *out;
  int64_t groups, rows, keys, hd;
  float scale;
  int failed;
};

// Pairs (sequence, KV group) from..to of one job: each query row's scores against every cached key,
// softmax, then the probability-weighted sum of the values. Masked keys (bias −1e30: padding, positions
// not yet written) are skipped, their probability being exactly 0.
static void attentionPairs(void *ctx, int64_t from, int64_t to) {
  struct attentionJob *j = ctx;
  int64_t keys = j->keys, hd = j->hd;
  float *e = malloc((size_t)(keys > 0 ? keys : 1) * sizeof(float));
  if (!e) {
    j->failed = 1;
    return;
  }
  for (int64_t pair = from; pair < to; pair++) {
    int64_t b = pair / j->groups;
    const float *kg = j->k + pair * keys * hd, *vg = j->v + pair * keys * hd;
    for (int64_t r = 0; r < j->rows; r++) {
      const float *qr = j->q + (pair * j->rows + r) * hd, *br = j->bias + (b * j->rows + r) * keys;
      float *o = j->out + (pair * j->rows + r) * hd;
      for (int64_t s = 0; s < keys; s++) e[s] = br[s] > -1e29f ? dotOf(qr, kg + s * hd, hd) * j->scale + br[s] : br[s];
      float max, inv = 1.0f / expShifted(e, e, keys, &max);
      for (int64_t d = 0; d < hd; d++) o[d] = 0.0f;
      for (int64_t s = 0; s < keys; s++) {
        if (e[s] == 0.0f) continue;
        float p = e[s] * inv;
        for (int64_t d = 0; d < hd; d++) o[d] += p * vg[s * hd + d];
      }
    }
  }
  free(e);
}

int rmt_attention(const float *restrict q, const float *restrict k, const float *restrict v, const float *restrict bias, float *restrict out,
                  int64_t batch, int64_t groups, int64_t rows, int64_t keys, int64_t hd, float scale) {
  // Split over the thread pool by (sequence, group) pairs, each computed as on one thread: the same bits
  // for any thread count. A decode step of 128 rows at d128 spent a third of its time here on one thread.
  struct attentionJob job = {q, k, v, bias, out, groups, rows, keys, hd, scale, 0};
  rmt_parallel_range(batch * groups, 2 * rows * keys * hd, 1, attentionPairs, &job);
  return job.failed ? -1 : 0;
}

int64_t rmt_sample(const float *restrict x, int64_t n, float temperature, double u, double *logProb, float *restrict e) {
  // The mode: the first index of the largest logit (NaNs skipped; none finite: index 0).
  float m = maxOf(x, n);
  int64_t mode = 0;
  if (m != -INFINITY)
    while (mode < n - 1 && x[mode] != m) mode++;
  // log Z = max + log Σ e^(x − max), the sum in double over eight lanes in a fixed order.
  for (int64_t j = 0; j < n; j++) e[j] = x[j] - m;
  rmt_exp(e, e, (size_t)n);
  double acc[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) acc[l] += e[i + l];
  for (; i < n; i++) acc[0] += e[i];
  double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  double logZ = (double)m + log(sum);
  if (temperature == 0.0f || !isfinite(m) || n == 0) {
    *logProb = n > 0 ? (double)x[mode] - logZ : 0.0;
    return mode;
  }
  double total = sum;
  if (temperature != 1.0f) {
    float inv = 1.0f / temperature;
    for (int64_t j = 0; j < n; j++) e[j] = (x[j] - m) * inv;
    rmt_exp(e, e, (size_t)n);
    total = 0.0;
    for (int64_t j = 0; j < n; j++) total += e[j];
  }
  // Inverse CDF in index order: the first token whose running weight passes u · Σ (rounding left over: the mode).
  double r = u * total;
  for (int64_t j = 0; j < n; j++) {
    r -= e[j];
    if (r < 0) {
      *logProb = (double)x[j] - logZ;
      return j;
    }
  }
  *logProb = (double)x[mode] - logZ;
  return mode;
}
