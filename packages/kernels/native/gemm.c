// Single-precision matrix products for RMT's WebAssembly backend, compiled on the user's machine at install
// (-O3 -march=native), so the products run on the widest vector unit the CPU has (AVX-512, AVX2, SSE/NEON).
//
// Why by hand: tfjs-backend-wasm runs matmuls in XNNPACK limited to 128-bit WebAssembly SIMD on one thread,
// and batched products (attention) in a scalar loop; together they are ~80% of a training step. A BLAS
// would need a system library or a download, which an install on an air-gapped machine cannot count on.
// The method is the classic one (Goto & van de Geijn): pack a k-block of B into column panels NR wide and
// of A into row panels MR tall, then a register-blocked MR×NR micro-kernel streams both panels.
#include "kernels.h"
#include "simd.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Rows of the micro-kernel's tile: MR × 2 accumulator vectors plus two of B and one broadcast must fit
// the registers (32 with AVX-512, 16 with AVX or SSE/NEON).
#define MR (VW == 16 ? 8 : VW == 8 ? 6 : 4)
#define NR (2 * VW)
// A k-block of a B panel (KC × NR floats) stays in L1 while the micro-kernel sweeps the A panels of a
// row block; a row block of A (MC × KC floats, 128 KB) stays in L2 while every B panel passes over it.
#define KC 256
#define MC (16 * MR)

// Scratch for the packed panels, per thread (Node worker threads each call in on their own thread).
static __thread float *scratch = NULL;
static __thread size_t scratchFloats = 0;

static float *scratchFor(size_t floats) {
  if (floats > scratchFloats) {
    free(scratch);
    size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
    scratch = aligned_alloc(64, bytes);
    scratchFloats = scratch ? floats : 0;
  }
  return scratch;
}

// Columns j0.. of an untransposed B (k × n) for kk in [k0, k0 + kc), as one zero-padded panel.
static void packPanel(const float *b, int n, int k0, int kc, int j0, float *dst) {
  int nr = n - j0 < NR ? n - j0 : NR;
  for (int p = 0; p < kc; p++) {
    memcpy(dst + (size_t)p * NR, b + (size_t)(k0 + p) * n + j0, nr * sizeof(float));
    for (int c = nr; c < NR; c++) dst[(size_t)p * NR + c] = 0.0f;
  }
}

// op(B)[kk, col] for kk in [k0, k0 + kc), packed as panels of NR columns, k-major, zero-padded.
static void packB(const float *b, int transB, int k, int n, int k0, int kc, float *out) {
  int panels = (n + NR - 1) / NR;
  for (int jp = 0; jp < panels; jp++) {
    float *dst = out + (size_t)jp * kc * NR;
    int j0 = jp * NR, nr = n - j0 < NR ? n - j0 : NR;
    if (!transB) {
      packPanel(b, n, k0, kc, j0, dst);
      continue;
    }
    for (int p = 0; p < kc; p++) {
      float *row = dst + (size_t)p * NR;
      for (int c = 0; c < nr; c++) row[c] = b[(size_t)(j0 + c) * k + k0 + p];
      for (int c = nr; c < NR; c++) row[c] = 0.0f;
    }
  }
}

// op(A)[row, kk] for rows [i0, i0 + rows) and kk in [k0, k0 + kc), packed as panels of MR rows, k-major,
// zero-padded.
static void packA(const float *a, int transA, int m, int k, int k0, int kc, int i0, int rows, float *out) {
  int panels = (rows + MR - 1) / MR;
  for (int ip = 0; ip < panels; ip++) {
    float *dst = out + (size_t)ip * kc * MR;
    int r0 = i0 + ip * MR, mr = i0 + rows - r0 < MR ? i0 + rows - r0 : MR;
    for (int p = 0; p < kc; p++) {
      float *col = dst + (size_t)p * MR;
      for (int r = 0; r < mr; r++) col[r] = transA ? a[(size_t)(k0 + p) * m + r0 + r] : a[(size_t)(r0 + r) * k + k0 + p];
      for (int r = mr; r < MR; r++) col[r] = 0.0f;
    }
  }
}

// C[MR × NR tile] (+)= Apanel · Bpanel; mr × nr of the tile is inside C. Row p of the B panel is at bp + p·ldb.
static void microKernel(int kc, const float *ap, const float *bp, size_t ldb, float *c, int ldc, int mr, int nr, int accumulate) {
  vf acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (vf){0};
  for (int p = 0; p < kc; p++) {
    vf b0 = *(const vfu *)(bp + (size_t)p * ldb);
    vf b1 = *(const vfu *)(bp + (size_t)p * ldb + VW);
    const float *ar = ap + (size_t)p * MR;
    for (int i = 0; i < MR; i++) {
      vf ai = (vf){0} + ar[i];
      acc[i][0] += ai * b0;
      acc[i][1] += ai * b1;
    }
  }
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      vfu *row = (vfu *)(c + (size_t)i * ldc);
      if (accumulate) {
        row[0] += acc[i][0];
        *(vfu *)(c + (size_t)i * ldc + VW) += acc[i][1];
      } else {
        row[0] = acc[i][0];
        *(vfu *)(c + (size_t)i * ldc + VW) = acc[i][1];
      }
    }
    return;
  }
  float tile[MR][NR] __attribute__((aligned(64)));
  for (int i = 0; i < MR; i++) {
    *(vf *)&tile[i][0] = acc[i][0];
    *(vf *)&tile[i][VW] = acc[i][1];
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++) c[(size_t)i * ldc + j] = accumulate ? c[(size_t)i * ldc + j] + tile[i][j] : tile[i][j];
}

// One row of C: c (1 × n) = a (1 × k) · op(B). Decoding attends with one query per sequence and head, so
// its products are vector × matrix, where packing for the MR-row micro-kernel would be 8× wasted work.
static void gemv(int n, int k, const float *restrict a, const float *restrict b, int transB, float *restrict c) {
  if (!transB) {
    // c = Σ_p a[p]·B[p, :], one axpy per row of B (contiguous, vectorised by the compiler).
    for (int j = 0; j < n; j++) c[j] = 0.0f;
    for (int p = 0; p < k; p++) {
      float ap = a[p];
      const float *row = b + (size_t)p * n;
      for (int j = 0; j < n; j++) c[j] += ap * row[j];
    }
    return;
  }
  // c[j] = a · B[j, :]: vector partial sums, then one horizontal sum.
  for (int j = 0; j < n; j++) {
    const float *row = b + (size_t)j * k;
    vf acc = {0};
    int p = 0;
    for (; p + VW <= k; p += VW) acc += *(const vfu *)(a + p) * *(const vfu *)(row + p);
    float sum = 0.0f;
    for (int l = 0; l < VW; l++) sum += acc[l];
    for (; p < k; p++) sum += a[p] * row[p];
    c[j] = sum;
  }
}

// C (m × n, row-major) = op(A) (m × k) · op(B) (k × n); op transposes when asked. Returns 0, or -1 out of memory.
int rmt_gemm(int m, int n, int k, const float *a, int transA, const float *b, int transB, float *c) {
  if (k == 0) {
    memset(c, 0, (size_t)m * n * sizeof(float));
    return 0;
  }
  if (m == 1) {
    gemv(n, k, a, b, transB, c); // op(A) of one row is the same k values either way
    return 0;
  }
  int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
  // Few rows (decode: one per sequence) reuse each B panel only a few times, so packing all of B costs more
  // than it saves: an untransposed B is then read in place, and only its last, partial panel is packed.
  int direct = !transB && mPanels <= 4;
  int kcMax = k < KC ? k : KC;
  int mcMax = m < MC ? mPanels * MR : MC;
  float *buf = scratchFor((size_t)kcMax * (mcMax + nPanels * NR));
  if (!buf) return -1;
  float *bp = buf, *ap = buf + (size_t)kcMax * nPanels * NR;
  for (int k0 = 0; k0 < k; k0 += KC) {
    int kc = k - k0 < KC ? k - k0 : KC;
    if (!direct) packB(b, transB, k, n, k0, kc, bp);
    else if (n % NR != 0) packPanel(b, n, k0, kc, (nPanels - 1) * NR, bp + (size_t)(nPanels - 1) * kc * NR);
    for (int i0 = 0; i0 < m; i0 += MC) {
      int mc = m - i0 < MC ? m - i0 : MC;
      packA(a, transA, m, k, k0, kc, i0, mc, ap);
      for (int jp = 0; jp < nPanels; jp++) {
        int j0 = jp * NR, nr = n - j0 < NR ? n - j0 : NR;
        const float *panel = bp + (size_t)jp * kc * NR;
        size_t ldb = NR;
        if (direct && nr == NR) panel = b + (size_t)k0 * n + j0, ldb = (size_t)n;
        for (int r0 = 0; r0 < mc; r0 += MR) {
          int mr = mc - r0 < MR ? mc - r0 : MR;
          microKernel(kc, ap + (size_t)(r0 / MR) * kc * MR, panel, ldb, c + (size_t)(i0 + r0) * n + j0, n, mr, nr, k0 > 0);
        }
      }
    }
  }
  return 0;
}

