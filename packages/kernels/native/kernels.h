// The kernels in plain C, shared by addon.c (the N-API binding) and their own files.
#pragma once
#include <stddef.h>
#include <stdint.h>

// C (m × n, row-major) = op(A) (m × k) · op(B) (k × n); op transposes when asked. 0, or -1 out of memory.
int rmt_gemm(int m, int n, int k, const float *a, int transA, const float *b, int transB, float *c);
// `batch` such products, A's and B's aStride and bStride floats apart (0: one shared), C's m·n apart; split
// over the thread pool when large, bit-identical to one thread. 0, or -1 out of memory.
int rmt_gemm_batch(int64_t batch, int m, int n, int k, const float *a, int64_t aStride, int transA, const float *b, int64_t bStride,
                   int transB, float *c);

// The thread pool (threads.c): threads a product may use (env RMT_KERNEL_THREADS, else the cores this
// process may run on); set it (n < 1: back to the default); run fn(ctx, 0…tasks−1) over the pool, the
// caller taking part, or inline when the pool is busy or one thread is set.
typedef void (*rmt_task)(void *ctx, int task);
int rmt_threads(void);
int rmt_default_threads(void);
void rmt_set_threads(int n);
void rmt_parallel(int tasks, rmt_task fn, void *ctx);
// fn(ctx, from, to) over contiguous ranges of [0, n) on the pool (edges multiples of `align`), or once over
// all of it when n · workPerItem is small. For kernels whose items are independent: the same bits for any
// thread count.
typedef void (*rmt_range)(void *ctx, int64_t from, int64_t to);
void rmt_parallel_range(int64_t n, int64_t workPerItem, int64_t align, rmt_range fn, void *ctx);

// out[i] = e^x[i] for i < count, within 2 ulp of the correctly rounded result (exp.c); out may be x.
void rmt_exp(const float *x, float *out, size_t count);
// The same over the thread pool (large arrays: the Exp kernel); rmt_exp is for a row inside another kernel.
void rmt_exp_parallel(const float *x, float *out, size_t count);

// One AdamW step's constants, as float32 (what the tfjs-op version multiplies by).
struct rmt_adamw_step {
  float lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, c1, c2, decay, gradScale;
};

// g' = g·gradScale; m' = β1·m + (1−β1)·g'; v' = β2·v + (1−β2)·g'²; p' = p·decay − lr·(m'/c1)/(√(v'/c2) + ε).
// mOut may be m and vOut v (in place); pOut is a fresh array.
void rmt_adamw(const float *restrict p, const float *m, const float *v, const float *restrict g, float *restrict pOut, float *mOut,
               float *vOut, size_t count, const struct rmt_adamw_step *s);

enum { RMT_ADD = 0, RMT_SUB = 1, RMT_MUL = 2, RMT_DIV = 3 };
#define RMT_MAX_RANK 8

// out = a op b over `shape` (rank ≤ RMT_MAX_RANK, row-major out); aStrides/bStrides give each operand's
// element stride per output dimension, 0 where it broadcasts.
void rmt_binary(int op, int rank, const int64_t *shape, const int64_t *aStrides, const int64_t *bStrides, const float *a,
                const float *b, float *out);
// dst[Σ i_d·dstStrides_d] = src[Σ i_d·srcStrides_d] for every index i of `shape` (rank ≤ RMT_MAX_RANK): a
// transpose, slice or concatenation of 4-byte elements, copied bit for bit.
void rmt_copy(int rank, const int64_t *shape, const int64_t *srcStrides, const int64_t *dstStrides, const uint32_t *src, uint32_t *dst);

// out[r] = x[r] · (1/√(mean(x[r]²) + eps)) · w over rows of `dim`.
void rmt_rmsnorm(const float *restrict x, const float *restrict w, float *restrict out, int64_t rows, int64_t dim, float eps);

// Rotary embedding, rotate-half convention: x [rows, heads, hd], cos and sin [rows, hd] shared by the heads;
// out = x·cos + concat(−x₂, x₁)·sin.
void rmt_rope(const float *restrict x, const float *restrict cos, const float *restrict sin, float *restrict out, int64_t rows, int64_t heads, int64_t hd);

// gu [rows, 2·hidden] = gate | up → out [rows, hidden] = gate·σ(gate)·up. 0, or -1 out of memory.
int rmt_swiglu(const float *restrict gu, float *restrict out, int64_t rows, int64_t hidden);

// Gradients: of rmt_rmsnorm (dx [rows, dim], dw [dim] summed over rows), of rmt_rope (dx from dy), and of
// rmt_swiglu (dgu [rows, 2·hidden] from gu and dy; 0, or -1 out of memory).
void rmt_rmsnorm_grad(const float *restrict x, const float *restrict w, const float *restrict dy, float *restrict dx, float *restrict dw, int64_t rows, int64_t dim, float eps);
void rmt_rope_grad(const float *restrict dy, const float *restrict cos, const float *restrict sin, float *restrict dx, int64_t rows, int64_t heads, int64_t hd);
int rmt_swiglu_grad(const float *restrict gu, const float *restrict dy, float *restrict dgu, int64_t rows, int64_t hidden);

// Row reductions (rows.c). Σ x² in double; softmax over rows of `width` and its gradient dx = y·(dy − Σ dy·y);
// the log-probability of each row's target (targets in [0, vocab), checked by the caller) with the row's
// log-sum-exp kept for the gradient dx = dy·([j = target] − e^(x − lse)). 0, or -1 out of memory.
double rmt_sum_squares(const float *x, size_t count);
void rmt_softmax(const float *restrict x, float *restrict out, int64_t rows, int64_t width);
void rmt_softmax_grad(const float *restrict y, const float *restrict dy, float *restrict dx, int64_t rows, int64_t width);
int rmt_token_logprobs(const float *restrict logits, const int32_t *restrict targets, float *restrict lp, float *restrict lse, int64_t rows,
                       int64_t vocab);
void rmt_token_logprobs_grad(const float *restrict logits, const int32_t *restrict targets, const float *restrict lse, const float *restrict dy,
                             float *restrict dx, int64_t rows, int64_t vocab);
// Attention of a few query rows over cached keys (inference): out = softmax(scale·q·Kᵀ + bias)·V, with
// q and out [batch, groups, rows, hd], k and v [batch, groups, keys, hd], bias [batch, rows, keys] shared by
// the groups (KV heads). 0, or -1 out of memory.
int rmt_attention(const float *restrict q, const float *restrict k, const float *restrict v, const float *restrict bias, float *restrict out,
                  int64_t batch, int64_t groups, int64_t rows, int64_t keys, int64_t hd, float scale);

// One draw from softmax(x / temperature) over n logits for a uniform u in [0, 1): the first index whose
// running weight e^((x − max)/T) passes u·Σ (temperature 0, or no finite logit: the first largest). Sets
// *logProb to the token's log-probability under softmax(x) (T = 1). e: n floats of scratch.
int64_t rmt_sample(const float *restrict x, int64_t n, float temperature, double u, double *logProb, float *restrict e);

// H = −Σ softmax(x)·log softmax(x) per row of `width` (0·log 0 as 0), and lse = log Σ e^x for the
// gradient; 0 or -1 out of memory. Its gradient: dx = −dy·p·(log p + H).
int rmt_entropy(const float *restrict x, float *restrict h, float *restrict lse, int64_t rows, int64_t width);
void rmt_entropy_grad(const float *restrict x, const float *restrict h, const float *restrict lse, const float *restrict dy, float *restrict dx,
                      int64_t rows, int64_t width);
