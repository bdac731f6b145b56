/**
 * @rmt/kernels — native float32 matrix products, elementwise arithmetic, exponentials, AdamW steps, the transformer's
 * fused blocks (RMSNorm, RoPE, SwiGLU) and row reductions (softmax, target log-probabilities, Σ x²), compiled from `native/gemm.c` on this machine at install.
 * Optional: {@link loadKernels} says why they are absent, and RMT then runs WebAssembly's own matmuls.
 * Nothing here imports TensorFlow.js; @rmt/backend plugs them into its wasm backend.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Where an operand lives: a byte offset into the call's `memory` (the wasm heap), or a Float32Array of its
 * own (a tensor of tfjs's cpu backend, outside any heap; `memory` may then be null). Mixed freely.
 */
export type Operand = number | Float32Array;

/** A kernel's memory: an ArrayBuffer that number operands are offsets into, or null when every operand is an array. */
export type Memory = ArrayBufferLike | null;

/**
 * Outputs must not overlap the inputs (`exp` excepted): the C code declares its arrays `restrict`.
 * Every operand is an {@link Operand}; the docs below say "byte offsets" for the wasm-heap form.
 */
export interface Kernels {
  /**
   * C = op(A)·op(B) for `batch` products, in place in `memory`: A is m×k (stored k×m when `transA`),
   * B is k×n (stored n×k when `transB`), C is m×n, all row-major float32 at byte offsets. `aBatch` and
   * `bBatch` are `batch`, or 1 to use the same matrix for every product. Throws a RangeError for operands
   * outside `memory`. Large products are split over the thread pool ({@link Kernels.setThreads}) by rows,
   * column panels or products, each part computed exactly as on one thread: the result is bit-identical
   * for every thread count.
   */
  matmul(
    memory: Memory,
    aOffset: Operand,
    bOffset: Operand,
    cOffset: Operand,
    batch: number,
    aBatch: number,
    bBatch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
  ): void;
  /**
   * out[i] = e^x[i] for `count` float32s at byte offsets in `memory` (out may be x), within 1 ulp of the
   * correctly rounded value (measured over the whole range). Throws a RangeError for operands outside `memory`.
   */
  exp(memory: Memory, xOffset: Operand, outOffset: Operand, count: number): void;
  /**
   * One AdamW step over `count` float32s in place in `memory`. `offsets` are the byte offsets of
   * [p, m, v, g, pOut, mOut, vOut]; `constants` holds, as float32, [lr, β1, 1−β1, β2, 1−β2, ε, c1, c2,
   * decay, gradScale]: g' = g·gradScale, m' = β1·m + (1−β1)·g', v' = β2·v + (1−β2)·g'²,
   * p' = p·decay − lr·(m'/c1)/(√(v'/c2) + ε). Throws a RangeError for operands outside `memory`.
   */
  adamw(memory: Memory, offsets: readonly Operand[], count: number, constants: Float32Array): void;
  /**
   * out = a op b with broadcasting (op: 0 add, 1 subtract, 2 multiply, 3 divide), float32 at the byte
   * `offsets` [a, b, out] in `memory`. `dims` holds the output shape (rank ≤ 8), then a's and then b's
   * element strides over it, 0 where an operand broadcasts. Throws a RangeError for operands outside `memory`.
   */
  binary(memory: Memory, op: 0 | 1 | 2 | 3, offsets: readonly Operand[], dims: Int32Array): void;
  /**
   * dst[Σ iₐ·dstStrideₐ] = src[Σ iₐ·srcStrideₐ] for every index i of a shape: a transpose, slice or
   * concatenation of 4-byte elements (float32 or int32), copied bit for bit, by whole runs where the last
   * dimension is contiguous on both sides. `dims` holds the shape (rank ≤ 8), then src's and then dst's
   * element strides. Operands are byte offsets in `memory`, or Float32Arrays or Int32Arrays. Throws a
   * RangeError for operands outside `memory`.
   */
  copy(memory: Memory, src: Operand | Int32Array, dst: Operand | Int32Array, dims: Int32Array): void;
  /** out[r] = x[r]·(1/√(mean(x[r]²) + eps))·w for `rows` rows of `dim` float32s (byte offsets in `memory`). */
  rmsnorm(
    memory: Memory,
    xOffset: Operand,
    wOffset: Operand,
    outOffset: Operand,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  /**
   * Rotary embedding, rotate-half convention: x [rows, heads, headDim], cos and sin [rows, headDim] shared
   * by the heads; out = x·cos + concat(−x₂, x₁)·sin.
   */
  rope(
    memory: Memory,
    xOffset: Operand,
    cosOffset: Operand,
    sinOffset: Operand,
    outOffset: Operand,
    rows: number,
    heads: number,
    headDim: number,
  ): void;
  /** gu [rows, 2·hidden] = gate | up → out [rows, hidden] = gate·σ(gate)·up. */
  swiglu(memory: Memory, guOffset: Operand, outOffset: Operand, rows: number, hidden: number): void;
  /** Gradient of {@link Kernels.rmsnorm}: dx [rows, dim] and dw [dim] (summed over rows) from x, w and dy. */
  rmsnormGrad(
    memory: Memory,
    xOffset: Operand,
    wOffset: Operand,
    dyOffset: Operand,
    dxOffset: Operand,
    dwOffset: Operand,
    rows: number,
    dim: number,
    eps: number,
  ): void;
  /** Gradient of {@link Kernels.rope} with respect to x: dy·cos + Rᵀ(dy·sin). */
  ropeGrad(
    memory: Memory,
    dyOffset: Operand,
    cosOffset: Operand,
    sinOffset: Operand,
    dxOffset: Operand,
    rows: number,
    heads: number,
    headDim: number,
  ): void;
  /** Gradient of {@link Kernels.swiglu}: dgu [rows, 2·hidden] from gu and dy [rows, hidden]. */
  swigluGrad(
    memory: Memory,
    guOffset: Operand,
    dyOffset: Operand,
    dguOffset: Operand,
    rows: number,
    hidden: number,
  ): void;
  /**
   * Entropy of softmax(x) per row, h[r] = −Σ p·log p (0·log 0 as 0), and lse[r] = log Σ e^x, for `rows`
   * rows of `width` float32s. Throws a RangeError for operands outside `memory`.
   */
  entropy(memory: Memory, xOffset: Operand, hOffset: Operand, lseOffset: Operand, rows: number, width: number): void;
  /** Gradient of {@link Kernels.entropy}: dx = −dy·p·(log p + h), 0 where p is 0. */
  entropyGrad(
    memory: Memory,
    xOffset: Operand,
    hOffset: Operand,
    lseOffset: Operand,
    dyOffset: Operand,
    dxOffset: Operand,
    rows: number,
    width: number,
  ): void;
  /**
   * One token drawn from softmax(x / temperature) over `vocab` float32 logits, for a uniform `u` in [0, 1):
   * the first index whose running weight e^((x − max)/T) (float32, summed in double) passes u·Σ; at
   * temperature 0, or with no finite logit, the first largest. Writes the token's log-probability under
   * softmax(x) into `logProb[0]`. Throws a RangeError for a bad vocabulary, temperature or u.
   */
  sample(
    memory: Memory,
    xOffset: Operand,
    vocab: number,
    temperature: number,
    u: number,
    logProb: Float64Array,
  ): number;
  /** Σ x² over `count` float32s, accumulated in double (the global gradient norm's terms). */
  sumSquares(memory: Memory, xOffset: Operand, count: number): number;
  /** Softmax over rows of `width` float32s: out = e^(x − max) / Σ e^(x − max). */
  softmax(memory: Memory, xOffset: Operand, outOffset: Operand, rows: number, width: number): void;
  /** Gradient of {@link Kernels.softmax} from its output y: dx = y·(dy − Σ dy·y), per row. */
  softmaxGrad(
    memory: Memory,
    yOffset: Operand,
    dyOffset: Operand,
    dxOffset: Operand,
    rows: number,
    width: number,
  ): void;
  /**
   * The log-probability of each row's target token: lp[r] = x[r, targets[r]] − lse[r], with the row's
   * log-sum-exp written to `lse` for the gradient. `targets` are int32 (a byte offset, or an Int32Array), each
   * in [0, vocab): a RangeError names the first that is not.
   */
  tokenLogProbs(
    memory: Memory,
    logitsOffset: Operand,
    targetsOffset: number | Int32Array,
    lpOffset: Operand,
    lseOffset: Operand,
    rows: number,
    vocab: number,
  ): void;
  /** Gradient of {@link Kernels.tokenLogProbs} with respect to the logits: dx = dy·([j = target] − e^(x − lse)). */
  tokenLogProbsGrad(
    memory: Memory,
    logitsOffset: Operand,
    targetsOffset: number | Int32Array,
    lseOffset: Operand,
    dyOffset: Operand,
    dxOffset: Operand,
    rows: number,
    vocab: number,
  ): void;
  /**
   * Attention of a few query rows over cached keys (inference only: no gradient): out = softmax(scale·q·Kᵀ +
   * bias)·V. q and out [batch, groups, rows, headDim], k and v [batch, groups, keys, headDim], bias [batch,
   * rows, keys] shared by the groups (KV heads); keys whose bias is −1e30 (masked) are skipped. Large calls
   * split over the thread pool by (sequence, group), bit-identical for every thread count.
   */
  attention(
    memory: Memory,
    qOffset: Operand,
    kOffset: Operand,
    vOffset: Operand,
    biasOffset: Operand,
    outOffset: Operand,
    batch: number,
    groups: number,
    rows: number,
    keys: number,
    headDim: number,
    scale: number,
  ): void;
  /**
   * Threads one product may use, for the whole process (Node worker threads share the pool): `n` < 1 restores
   * the default, the cores this process may run on ({@link Kernels.defaultThreads}), or `RMT_KERNEL_THREADS`
   * when set at load. Set 1 where other threads already take the cores (@rmt/trainer's data-parallel
   * workers). A product that finds the pool busy with another thread's product runs on its caller's thread.
   */
  setThreads(n: number): void;
  /** The current thread setting. */
  threads(): number;
  /** The cores this process may run on (its CPU affinity). */
  defaultThreads(): number;
  /** The vector instructions it was compiled for: `avx512`, `avx2`, `avx` or `generic`. */
  isa: string;
}

export type KernelsStatus =
  { available: true; kernels: Kernels; reason: string } | { available: false; reason: string };

let status: KernelsStatus | undefined;

/** The compiled addon, relative to this file: the same path from src/ (tests) and dist/ (published). */
const addonPath = fileURLToPath(new URL('../build/Release/rmt_kernels.node', import.meta.url));

/**
 * Load the native kernels once per thread. `RMT_NATIVE_KERNELS=0` turns them off (to compare with the
 * WebAssembly path, or to rule them out).
 */
export function loadKernels(): KernelsStatus {
  if (status) return status;
  if (process.env.RMT_NATIVE_KERNELS === '0')
    return (status = { available: false, reason: 'turned off by RMT_NATIVE_KERNELS=0' });
  if (!existsSync(addonPath)) {
    return (status = {
      available: false,
      reason: 'not compiled at install (no C compiler or node-gyp; see `npm rebuild @rmt/kernels`)',
    });
  }
  try {
    const kernels = createRequire(import.meta.url)(addonPath) as Kernels;
    return (status = { available: true, kernels, reason: `native ${kernels.isa}` });
  } catch (error) {
    return (status = {
      available: false,
      reason: `failed to load ${addonPath}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
    });
  }
}
