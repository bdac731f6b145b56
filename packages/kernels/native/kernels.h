// The kernels in plain C, shared by addon.c (the N-API binding) and their own files.
#pragma once
#include <stddef.h>

// C (m × n, row-major) = op(A) (m × k) · op(B) (k × n); op transposes when asked. 0, or -1 out of memory.
int rmt_gemm(int m, int n, int k, const float *a, int transA, const float *b, int transB, float *c);

// out[i] = e^x[i] for i < count, within 2 ulp of the correctly rounded result (exp.c); out may be x.
void rmt_exp(const float *x, float *out, size_t count);
