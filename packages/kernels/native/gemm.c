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
// Panels of B per block when B is read in place (few rows).
#define JB 16

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

// Columns j0.. (of n) of an untransposed B (k × n, rows ldb apart) for kk in [k0, k0 + kc), as one zero-padded panel.
static void packPanel(const float *b, size_t ldb, int n, int k0, int kc, int j0, float *dst) {
  int nr = n - j0 < NR ? n - j0 : NR;
  for (int p = 0; p < kc; p++) {
    memcpy(dst + (size_t)p * NR, b + (size_t)(k0 + p) * ldb + j0, nr * sizeof(float));
    for (int c = nr; c < NR; c++) dst[(size_t)p * NR + c] = 0.0f;
  }
}

// Panels jp0 ≤ jp < jp1 of an untransposed B for kk in [k0, k0 + kc), packed as packB packs them but read
// row by row: each row's part of the block is one contiguous run (2 KB for 16 panels), which the hardware
// prefetchers stream; a panel read in place takes 128 bytes from each of kc rows a row-stride apart.
static void packBlockRows(const float *b, size_t ldb, int n, int k0, int kc, int jp0, int jp1, float *out) {
  for (int p = 0; p < kc; p++) {
    const float *row = b + (size_t)(k0 + p) * ldb;
    for (int jp = jp0; jp < jp1; jp++) {
      int j0 = jp * NR, nr = n - j0 < NR ? n - j0 : NR;
      float *dst = out + (size_t)jp * kc * NR + (size_t)p * NR;
      memcpy(dst, row + j0, nr * sizeof(float));
      for (int c = nr; c < NR; c++) dst[c] = 0.0f;
    }
  }
}

// op(B)[kk, col] for kk in [k0, k0 + kc), packed as panels of NR columns, k-major, zero-padded. B's rows
// (op(B)'s columns when transposed) are ldb floats apart.
static void packB(const float *b, int transB, size_t ldb, int n, int k0, int kc, float *out) {
  int panels = (n + NR - 1) / NR;
  for (int jp = 0; jp < panels; jp++) {
    float *dst = out + (size_t)jp * kc * NR;
    int j0 = jp * NR, nr = n - j0 < NR ? n - j0 : NR;
    if (!transB) {
      packPanel(b, ldb, n, k0, kc, j0, dst);
      continue;
    }
    for (int p = 0; p < kc; p++) {
      float *row = dst + (size_t)p * NR;
      for (int c = 0; c < nr; c++) row[c] = b[(size_t)(j0 + c) * ldb + k0 + p];
      for (int c = nr; c < NR; c++) row[c] = 0.0f;
    }
  }
}

// op(A)[row, kk] for rows [i0, i0 + rows) and kk in [k0, k0 + kc), packed as panels of MR rows, k-major,
// zero-padded. A's rows (op(A)'s columns when transposed) are lda floats apart.
static void packA(const float *a, int transA, size_t lda, int k0, int kc, int i0, int rows, float *out) {
  int panels = (rows + MR - 1) / MR;
  for (int ip = 0; ip < panels; ip++) {
    float *dst = out + (size_t)ip * kc * MR;
    int r0 = i0 + ip * MR, mr = i0 + rows - r0 < MR ? i0 + rows - r0 : MR;
    for (int p = 0; p < kc; p++) {
      float *col = dst + (size_t)p * MR;
      for (int r = 0; r < mr; r++) col[r] = transA ? a[(size_t)(k0 + p) * lda + r0 + r] : a[(size_t)(r0 + r) * lda + k0 + p];
      for (int r = mr; r < MR; r++) col[r] = 0.0f;
    }
  }
}

// C[MR × NR tile] (+)= Apanel · Bpanel; mr × nr of the tile is inside C. Row p of the B panel is at bp + p·ldb.
static void microKernel(int kc, const float *ap, const float *bp, size_t ldb, float *c, size_t ldc, int mr, int nr, int accumulate) {
  vf acc[MR][2];
  for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (vf){0};
  for (int p = 0; p < kc; p++) {
    vf b0 = *(const vfu *)(bp + (size_t)p * ldb);
    vf b1 = *(const vfu *)(bp + (size_t)p * ldb + VW);
    // B read in place: the next panel's part of this row, a page away from the last row read.
    if (ldb != NR) __builtin_prefetch(bp + (size_t)p * ldb + NR), __builtin_prefetch(bp + (size_t)p * ldb + NR + VW);
    const float *ar = ap + (size_t)p * MR;
    // A scalar times a vector: the compiler broadcasts the scalar from memory into the FMA. (Spelt
    // `(vf){0} + a`, it is a scalar add, since 0 + −0 is +0, and a shuffle on the FMA port: 55% of peak.)
    for (int i = 0; i < MR; i++) {
      acc[i][0] += ar[i] * b0;
      acc[i][1] += ar[i] * b1;
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
// A transposed one-row A is k values lda apart; B's rows are ldb apart.
static int gemv(int n, int k, const float *restrict a, size_t lda, const float *restrict b, size_t ldb, int transB, float *restrict c) {
  float *gathered = NULL;
  if (lda != 1) {
    gathered = malloc((size_t)k * sizeof(float));
    if (!gathered) return -1;
    for (int p = 0; p < k; p++) gathered[p] = a[(size_t)p * lda];
    a = gathered;
  }
  if (!transB) {
    // c = Σ_p a[p]·B[p, :], one axpy per row of B (contiguous, vectorised by the compiler).
    for (int j = 0; j < n; j++) c[j] = 0.0f;
    for (int p = 0; p < k; p++) {
      float ap = a[p];
      const float *row = b + (size_t)p * ldb;
      for (int j = 0; j < n; j++) c[j] += ap * row[j];
    }
    free(gathered);
    return 0;
  }
  // c[j] = a · B[j, :]: vector partial sums, then one horizontal sum.
  for (int j = 0; j < n; j++) {
    const float *row = b + (size_t)j * ldb;
    vf acc = {0};
    int p = 0;
    for (; p + VW <= k; p += VW) acc += *(const vfu *)(a + p) * *(const vfu *)(row + p);
    float sum = 0.0f;
    for (int l = 0; l < VW; l++) sum += acc[l];
    for (; p < k; p++) sum += a[p] * row[p];
    c[j] = sum;
  }
  free(gathered);
  return 0;
}

// C (m × n, rows ldc apart) = op(A) (m × k) · op(B) (k × n) on the calling thread; lda and ldb as packA and
// packB take them. Returns 0, or -1 out of memory.
static int gemmOne(int m, int n, int k, const float *a, int transA, size_t lda, const float *b, int transB, size_t ldb, float *c, size_t ldc) {
  if (m == 0 || n == 0) return 0;
  if (k == 0) {
    for (int i = 0; i < m; i++) memset(c + (size_t)i * ldc, 0, (size_t)n * sizeof(float));
    return 0;
  }
  if (m == 1) {
    // op(A) of one row is k values: contiguous, or lda apart when A is transposed (a column of m > 1 rows).
    return gemv(n, k, a, transA ? lda : 1, b, ldb, transB, c);
  }
  int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
  // Few rows (decode: one per sequence) reuse each B panel only a few times, so packing all of B costs more
  // than it saves: B is swept by blocks of JB panels, each over all of k before the next. A B that fits
  // the caches is read in place (only its last, partial panel packed). A larger one, read cold from memory
  // (a decode step's weights at 135M parameters), is packed a block at a time, row by row: in place its
  // reads streamed at 6.7 GB/s on two threads, packed at 11.4 (16 × 576 × 3072); when the B was warm,
  // the copy made it 1.5–1.8× slower, hence the size test (of this thread's part of B).
  int direct = !transB && mPanels <= 4;
  int packRows = direct && (size_t)k * n * sizeof(float) > ((size_t)2 << 20);
  int kcMax = k < KC ? k : KC;
  int mcMax = m < MC ? mPanels * MR : MC;
  float *buf = scratchFor((size_t)kcMax * (mcMax + nPanels * NR));
  if (!buf) return -1;
  float *bp = buf, *ap = buf + (size_t)kcMax * nPanels * NR;
  // A block's rows of B are a few KB each (not one 128-byte panel row per page), so they stay in the TLB.
  // Each element's sum runs over k in the same order on every path.
  int block = direct ? JB : nPanels;
  for (int jb = 0; jb < nPanels; jb += block)
  for (int k0 = 0; k0 < k; k0 += KC) {
    int kc = k - k0 < KC ? k - k0 : KC;
    if (!direct) packB(b, transB, ldb, n, k0, kc, bp);
    else if (packRows) packBlockRows(b, ldb, n, k0, kc, jb, jb + block < nPanels ? jb + block : nPanels, bp);
    else if (n % NR != 0 && jb + block >= nPanels) packPanel(b, ldb, n, k0, kc, (nPanels - 1) * NR, bp + (size_t)(nPanels - 1) * kc * NR);
    for (int i0 = 0; i0 < m; i0 += MC) {
      int mc = m - i0 < MC ? m - i0 : MC;
      packA(a, transA, lda, k0, kc, i0, mc, ap);
      for (int jp = jb; jp < nPanels && jp < jb + block; jp++) {
        int j0 = jp * NR, nr = n - j0 < NR ? n - j0 : NR;
        const float *panel = bp + (size_t)jp * kc * NR;
        size_t ld = NR;
        if (direct && !packRows && nr == NR) panel = b + (size_t)k0 * ldb + j0, ld = ldb;
        for (int r0 = 0; r0 < mc; r0 += MR) {
          int mr = mc - r0 < MR ? mc - r0 : MR;
          microKernel(kc, ap + (size_t)(r0 / MR) * kc * MR, panel, ld, c + (size_t)(i0 + r0) * ldc + j0, ldc, mr, nr, k0 > 0);
        }
      }
    }
  }
  return 0;
}

// Below this many multiply-adds a product stays on one thread. With the pool spinning between products
// (threads.c), two threads pay from here on, few-row products too: 16 rows × 256 × 1376 (a d256 decode
// step) took 100 µs on one thread and 54 on two with B in cache, 305 and 184 with B from memory.
#define PARALLEL_MIN_MACS (1 << 20)

// `batch` products split over the pool. Each task computes whole output elements exactly as gemmOne does on
// one thread — the same packing and k order, only over a part of the rows, columns or products — so the
// result is bit-identical for any thread count. Parts are cut on MR-row and NR-column panel edges (the
// "direct" path reads B in place for every full panel and packs only the last one, as on one thread).
struct gemmJob {
  int m, n, k, transA, transB;
  const float *a, *b;
  float *c;
  int64_t batch, aStride, bStride; // floats between products (0: shared)
  int split;                       // 0: by product, 1: by column panels, 2: by row panels
  int tasks, units;                // parts, and panels (or products) shared out among them
  int failed;
};

static void gemmTask(void *ctx, int task) {
  struct gemmJob *j = ctx;
  int from = (int)((int64_t)j->units * task / j->tasks), to = (int)((int64_t)j->units * (task + 1) / j->tasks);
  size_t lda = j->transA ? (size_t)j->m : (size_t)j->k, ldb = j->transB ? (size_t)j->k : (size_t)j->n;
  int rc = 0;
  if (j->split == 0) {
    for (int i = from; i < to && rc == 0; i++)
      rc = gemmOne(j->m, j->n, j->k, j->a + i * j->aStride, j->transA, lda, j->b + i * j->bStride, j->transB, ldb, j->c + (size_t)i * j->m * j->n, j->n);
  } else if (j->split == 1) {
    int j0 = from * NR, j1 = to * NR < j->n ? to * NR : j->n;
    if (j1 > j0) rc = gemmOne(j->m, j1 - j0, j->k, j->a, j->transA, lda, j->transB ? j->b + (size_t)j0 * ldb : j->b + j0, j->transB, ldb, j->c + j0, j->n);
  } else {
    int i0 = from * MR, i1 = to * MR < j->m ? to * MR : j->m;
    // Rows i0.. of op(A): columns of a transposed A, rows of a plain one. A one-row part takes the vector
    // path, as it would on one thread only when m is 1 — so row parts are never cut to a single row (see below).
    if (i1 > i0) rc = gemmOne(i1 - i0, j->n, j->k, j->transA ? j->a + i0 : j->a + (size_t)i0 * lda, j->transA, lda, j->b, j->transB, ldb, j->c + (size_t)i0 * j->n, j->n);
  }
  if (rc != 0) j->failed = 1;
}

// C = op(A)·op(B) for `batch` products (aStride/bStride floats apart, 0 to share one; C's are m·n apart),
// over the thread pool when large enough. Returns 0, or -1 out of memory.
int rmt_gemm_batch(int64_t batch, int m, int n, int k, const float *a, int64_t aStride, int transA, const float *b, int64_t bStride, int transB, float *c) {
  struct gemmJob job = {m, n, k, transA, transB, a, b, c, batch, aStride, bStride, 0, 1, (int)batch, 0};
  int threads = rmt_threads();
  double macs = (double)batch * m * n * k;
  if (threads > 1 && macs >= PARALLEL_MIN_MACS && m > 0 && n > 0) {
    int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
    if (batch >= threads) {
      job.split = 0, job.units = (int)batch;
    } else if (batch == 1 && (m == 1 || m <= n) && nPanels >= 2) {
      // Columns: each part packs its own columns of B and all of A (A is the smaller operand).
      job.split = 1, job.units = nPanels;
    } else if (batch == 1 && m > 1 && mPanels >= 2 && m % MR != 1) {
      // Rows (parts of MR-row panels; never a lone last row, which would take the vector path).
      job.split = 2, job.units = mPanels;
    }
    if (job.split != 0 || batch > 1) {
      job.tasks = job.units < threads ? job.units : threads;
      rmt_parallel(job.tasks, gemmTask, &job);
      return job.failed ? -1 : 0;
    }
  }
  gemmTask(&job, 0);
  return job.failed ? -1 : 0;
}

// C (m × n, row-major) = op(A) (m × k) · op(B) (k × n); op transposes when asked. Returns 0, or -1 out of memory.
int rmt_gemm(int m, int n, int k, const float *a, int transA, const float *b, int transB, float *c) {
  return rmt_gemm_batch(1, m, n, k, a, 0, transA, b, 0, transB, c);
}
