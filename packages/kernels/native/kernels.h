// The kernels in plain C, shared by addon.c (the N-API binding) and their own files.
#pragma once
#include <stddef.h>
#include <stdint.h>

// C (m × n, row-major) = op(A) (m × k) · op(B) (k × n); op transposes when asked. 0, or -1 out of memory.
int rmt_gemm(int m, int n, int k, const float *a, int transA, const float *b, int transB, float *c);

// out[i] = e^x[i] for i < count, within 2 ulp of the correctly rounded result (exp.c); out may be x.
void rmt_exp(const float *x, float *out, size_t count);

// One AdamW step's constants, as float32 (what the tfjs-op version multiplies by).
struct rmt_adamw_step {
  float lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, epsilon, c1, c2, decay, gradScale;
};

// g' = g·gradScale; m' = β1·m + (1−β1)·g'; v' = β2·v + (1−β2)·g'²; p' = p·decay − lr·(m'/c1)/(√(v'/c2) + ε).
void rmt_adamw(const float *p, const float *m, const float *v, const float *g, float *pOut, float *mOut, float *vOut,
               size_t count, const struct rmt_adamw_step *s);

enum { RMT_ADD = 0, RMT_SUB = 1, RMT_MUL = 2, RMT_DIV = 3 };
#define RMT_MAX_RANK 8

// out = a op b over `shape` (rank ≤ RMT_MAX_RANK, row-major out); aStrides/bStrides give each operand's
// element stride per output dimension, 0 where it broadcasts.
void rmt_binary(int op, int rank, const int64_t *shape, const int64_t *aStrides, const int64_t *bStrides, const float *a,
                const float *b, float *out);

// out[r] = x[r] · (1/√(mean(x[r]²) + eps)) · w over rows of `dim`.
void rmt_rmsnorm(const float *x, const float *w, float *out, int64_t rows, int64_t dim, float eps);

// Rotary embedding, rotate-half convention: x [rows, heads, hd], cos and sin [rows, hd] shared by the heads;
// out = x·cos + concat(−x₂, x₁)·sin.
void rmt_rope(const float *x, const float *cos, const float *sin, float *out, int64_t rows, int64_t heads, int64_t hd);

// gu [rows, 2·hidden] = gate | up → out [rows, hidden] = gate·σ(gate)·up. 0, or -1 out of memory.
int rmt_swiglu(const float *gu, float *out, int64_t rows, int64_t hidden);
