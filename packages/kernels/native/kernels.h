// The kernels in plain C, shared by addon.c (the N-API binding) and their own files.
#pragma once
#include <stddef.h>

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
