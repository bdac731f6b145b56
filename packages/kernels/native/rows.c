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

void rmt_softmax(const float *restrict x, float *restrict out, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; r++) {
    float max, *o = out + r * width;
    float scale = 1.0f / expShifted(x + r * width, o, width, &max);
    for (int64_t j = 0; j < width; j++) o[j] *= scale;
  }
}

void rmt_softmax_grad(const float *restrict y, const float *restrict dy, float *restrict dx, int64_t rows, int64_t width) {
  // dx = y·(dy − Σ dy·y), per row.
  for (int64_t r = 0; r < rows; r++) {
    const float *yr = y + r * width, *g = dy + r * width;
    float *o = dx + r * width;
    float dot = dotOf(g, yr, width);
    for (int64_t j = 0; j < width; j++) o[j] = yr[j] * (g[j] - dot);
  }
}

int rmt_token_logprobs(const float *restrict logits, const int32_t *restrict targets, float *restrict lp, float *restrict lse, int64_t rows,
                       int64_t vocab) {
  // lse = max + log Σ e^(x − max); lp = x[target] − lse. e^(x − max) goes through a row buffer for rmt_exp.
  float *e = malloc((size_t)(vocab > 0 ? vocab : 1) * sizeof(float));
  if (!e) return -1;
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = logits + r * vocab;
    float max, sum = expShifted(xr, e, vocab, &max);
    lse[r] = max + logf(sum);
    lp[r] = xr[targets[r]] - lse[r];
  }
  free(e);
  return 0;
}

void rmt_token_logprobs_grad(const float *restrict logits, const int32_t *restrict targets, const float *restrict lse, const float *restrict dy,
                             float *restrict dx, int64_t rows, int64_t vocab) {
  // d lp / d x_j = [j = target] − softmax_j: dx = −dy·e^(x − lse), plus dy at the target.
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = logits + r * vocab;
    float *o = dx + r * vocab;
    for (int64_t j = 0; j < vocab; j++) o[j] = xr[j] - lse[r];
    rmt_exp(o, o, (size_t)vocab);
    for (int64_t j = 0; j < vocab; j++) o[j] *= -dy[r];
    o[targets[r]] += dy[r];
  }
}

struct attentionJob {
  const float *q, *k, *v, *bias;
  float *out;
  int64_t batch, groups, rows, keys, hd, pairs;
  float scale;
  int tasks, failed;
};

// Pairs (sequence, KV group) from..to of one job: each query row's scores against every cached key,
// softmax, then the probability-weighted sum of the values. Masked keys (bias −1e30: padding, positions
// not yet written) are skipped, their probability being exactly 0.
static void attentionTask(void *ctx, int task) {
  struct attentionJob *j = ctx;
  int64_t from = j->pairs * task / j->tasks, to = j->pairs * (task + 1) / j->tasks, keys = j->keys, hd = j->hd;
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
  struct attentionJob job = {q, k, v, bias, out, batch, groups, rows, keys, hd, batch * groups, scale, 1, 0};
  double macs = (double)job.pairs * rows * keys * hd * 2;
  int threads = rmt_threads();
  job.tasks = threads > 1 && macs >= (1 << 20) ? (job.pairs < threads ? (int)job.pairs : threads) : 1;
  if (job.tasks > 1) rmt_parallel(job.tasks, attentionTask, &job);
  else attentionTask(&job, 0);
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
