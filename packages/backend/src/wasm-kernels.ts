// Kernels the wasm backend lacks or runs slowly, for a transformer training step.
// - tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of `gather` (token embeddings,
//   picking the log-probability of the chosen token) calls. Without it, training on wasm throws.
// - Its BatchMatMul reaches XNNPACK (128-bit SIMD, one thread) only for a single, untransposed product;
//   transposed operands (every matmul gradient: dX = dY·Wᵀ, dW = Xᵀ·dY) and batched products (attention)
//   fall back to a scalar loop. Matmuls were ~80% of a training step. When @rmt/kernels compiled at install,
//   every float32 product runs there instead, natively on the wasm heap (measured ~220 GFLOP/s with AVX-512
//   against ~15 through XNNPACK). Otherwise a transposed operand of a single product is materialised first
//   (a cheap copy) so that product takes XNNPACK's path.
// - Its Identity copies the data. tfjs-core clones every tensor it saves for the backward pass, so a
//   training step copied gigabytes; tensors are immutable, so the clone now shares the data and counts a
//   reference, as reshape does here and Identity does on the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { loadKernels, type Kernels } from '@rmt/kernels';

interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  incRef(dataId: object): void;
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

/**
 * out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped, as in TensorFlow.
 * Plain loops over the wasm heap copy: the op is memory-bound and runs once per backward pass.
 */
function unsortedSegmentSum({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const values = wasm.readSync(x.dataId) as Float32Array | Int32Array;
  const ids = wasm.readSync(segmentIds.dataId) as Int32Array;
  // segmentIds covers the leading dimensions of x; each id owns one contiguous inner slice.
  const idCount = ids.length;
  const inner = idCount === 0 ? 0 : values.length / idCount;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  for (let i = 0; i < idCount; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * inner;
    const dst = segment * inner;
    for (let j = 0; j < inner; j++) out[dst + j]! += values[src + j]!;
  }
  return wasm.makeOutput(outShape, x.dtype, undefined, out);
}

/**
 * Every float32 product on the native kernels, in place on the wasm heap. Batch dimensions are flattened, as
 * the wasm kernel does; an operand with batch 1 is shared by all products. Other broadcasts go to `fallback`.
 */
function nativeBatchMatMul(kernels: Kernels, fallback: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const batch = tf.util.sizeFromShape(outer);
    const aBatch = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const bBatch = tf.util.sizeFromShape(b.shape.slice(0, -2));
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || (aBatch !== batch && aBatch !== 1) || (bBatch !== batch && bBatch !== 1)) {
      return fallback(args as never);
    }
    const [ar, ac] = a.shape.slice(-2) as [number, number];
    const [br, bc] = b.shape.slice(-2) as [number, number];
    const [m, k] = transposeA ? [ac, ar] : [ar, ac];
    const [k2, n] = transposeB ? [bc, br] : [br, bc];
    if (k !== k2) throw new Error(`matMul: inner dimensions ${k} and ${k2} of shapes [${a.shape}] and [${b.shape}] differ (transposeA=${transposeA}, transposeB=${transposeB})`);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput([...outer, m, n], 'float32');
    const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    // The heap's buffer is read after the output is allocated: a growing heap replaces it.
    kernels.matmul(backend.wasm.HEAPU8.buffer, offset(a), offset(b), offset(out), batch, aBatch, bBatch, m, n, k, transposeA, transposeB);
    return out;
  }) as tf.KernelFunc;
}

/**
 * BatchMatMul with transposed operands materialised first, so a single product runs on XNNPACK's fast path.
 * Batched products (attention) stay on the scalar loop: splitting them into one XNNPACK product per batch
 * entry was measured 3× slower (operator set-up per tiny product outweighs the loop).
 */
function fastBatchMatMul(matMul: tf.KernelFunc, transpose: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const single = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    if ((!transposeA && !transposeB) || !single(a) || !single(b)) return matMul(args as never);
    const backend = args.backend as WasmBackendLike;
    const swapLast = (t: tf.TensorInfo) => {
      const perm = t.shape.map((_, i) => i);
      [perm[perm.length - 2], perm[perm.length - 1]] = [perm[perm.length - 1]!, perm[perm.length - 2]!];
      return transpose({ inputs: { x: t }, backend, attrs: { perm } } as never) as tf.TensorInfo;
    };
    const temps: tf.TensorInfo[] = [];
    const aa = transposeA ? (temps.push(swapLast(a)), temps.at(-1)!) : a;
    const bb = transposeB ? (temps.push(swapLast(b)), temps.at(-1)!) : b;
    try {
      return matMul({ inputs: { a: aa, b: bb }, backend, attrs: { ...args.attrs, transposeA: false, transposeB: false } } as never);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  }) as tf.KernelFunc;
}

/** Identity without a copy: the output shares the input's data (tfjs tensors are never written in place). */
function sharedIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args as never);
    (args.backend as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as tf.KernelFunc;
}

let registered = false;

/** How the wasm backend runs its matmuls, for `rmt info` and run metadata. */
export function wasmMatmulPath(): string {
  const native = loadKernels();
  return native.available ? `matmuls ${native.reason}` : `matmuls in WebAssembly: @rmt/kernels ${native.reason}`;
}

/** Register the missing kernel and the faster BatchMatMul and Identity on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
  const identity = tf.getKernel('Identity', 'wasm');
  if (identity) {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ ...identity, kernelFunc: sharedIdentity(identity.kernelFunc) });
  }
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (matMul && transpose) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    const wasmPath = fastBatchMatMul(matMul.kernelFunc, transpose.kernelFunc);
    const native = loadKernels();
    tf.registerKernel({ ...matMul, kernelFunc: native.available ? nativeBatchMatMul(native.kernels, wasmPath) : wasmPath });
  }
}
