// Kernels the wasm backend lacks or runs slowly, for a transformer training step (pure JavaScript on the
// wasm heap; native-kernels.ts has the ones that need @rmt/kernels).
// - tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of `gather` (token embeddings,
//   picking the log-probability of the chosen token) calls. Without it, training on wasm throws.
// - Its BatchMatMul reaches XNNPACK (128-bit SIMD, one thread) only for a single, untransposed product;
//   transposed operands (every matmul gradient: dX = dY·Wᵀ, dW = Xᵀ·dY) fall back to a scalar loop. Without
//   @rmt/kernels, such an operand of a single product is materialised first (a cheap copy) for XNNPACK.
// - Its Slice (and SplitV, built on it) first copies the whole input out of the heap, then each row through
//   a new subarray; its Concat also makes a subarray per row. The versions below move each contiguous run
//   with one in-heap memmove (copyWithin): splitting the fused q/k/v and gate/up products took ~0.6 ms each.
//   Its GatherV2 and Tile compute an index per element: an embedding lookup of 512 tokens took 1.6 ms, a
//   Tile of an attention bias 1.4 ms. Here both copy whole rows too (~0.1 ms).
// - Its Cast copies even when the dtype does not change, and tfjs-core's gradient of every multiply casts
//   both operands to float32: a same-dtype Cast now shares the data, as Identity does below. Its cast to
//   bool copied the numbers (2 stayed 2, 0.5 became 0); it now gives x ≠ 0, as the cpu backend does.
// - Its Identity copies the data. tfjs-core clones every tensor it saves for the backward pass, so a
//   training step copied gigabytes; tensors are immutable, so the clone now shares the data and counts a
//   reference, as reshape does here and Identity does on the cpu backend.
import * as tf from '@tensorflow/tfjs';
import { loadKernels } from '@rmt/kernels';
import { registerNativeKernels } from './native-kernels.js';
import {
  heapOffset,
  replaceKernel,
  sharedTranspose,
  splitBySlices,
  type KernelArgs,
  type WasmBackendLike,
} from './wasm-backend.js';

/**
 * out[s, ...] = Σ_{i : ids[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped, as in TensorFlow.
 * Plain loops on views of the wasm heap: the op is memory-bound and runs once per backward pass.
 */
function unsortedSegmentSum({ inputs, attrs, backend }: KernelArgs): tf.TensorInfo {
  const wasm = backend as WasmBackendLike;
  const x = inputs.x as tf.TensorInfo;
  const segmentIds = inputs.segmentIds as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  // segmentIds covers the leading dimensions of x; each id owns one contiguous inner slice.
  const idCount = tf.util.sizeFromShape(segmentIds.shape);
  const size = tf.util.sizeFromShape(x.shape);
  const inner = idCount === 0 ? 0 : size / idCount;
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  // Views are taken after makeOutput, which may grow (and so replace) the heap.
  const View = x.dtype === 'int32' ? Int32Array : Float32Array;
  const heap = wasm.wasm.HEAPU8.buffer;
  const values = new View(heap, heapOffset(wasm, x), size);
  const ids = new Int32Array(heap, heapOffset(wasm, segmentIds), idCount);
  const sums = new View(heap, heapOffset(wasm, out), numSegments * inner).fill(0);
  for (let i = 0; i < idCount; i++) {
    const segment = ids[i]!;
    if (segment < 0 || segment >= numSegments) continue;
    const src = i * inner;
    const dst = segment * inner;
    for (let j = 0; j < inner; j++) sums[dst + j]! += values[src + j]!;
  }
  return out;
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
      return matMul({
        inputs: { a: aa, b: bb },
        backend,
        attrs: { ...args.attrs, transposeA: false, transposeB: false },
      } as never);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  }) as tf.KernelFunc;
}

/** Bytes per element on the wasm heap; strings live outside it and keep the original kernels. */
const HEAP_BYTES: Partial<Record<tf.DataType, number>> = { float32: 4, int32: 4, bool: 1 };

/** x[begin : begin + size] into a new heap tensor, one copyWithin per contiguous run of x. */
function heapSlice(backend: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const bytes = HEAP_BYTES[x.dtype]!;
  const count = tf.util.sizeFromShape(size);
  if (count === 0) return out;
  const heap = backend.wasm.HEAPU8; // read after makeOutput: a growing heap replaces the buffer
  const rank = x.shape.length;
  // Dimensions j.. are copied as one run per index of dimensions ..j-1: every dimension after j is whole.
  let j = rank - 1;
  while (j > 0 && size[j] === x.shape[j]) j--;
  const strides = [...tf.util.computeStrides(x.shape), 1];
  const runBytes = (count / tf.util.sizeFromShape(size.slice(0, j))) * bytes;
  const src = heapOffset(backend, x);
  let dst = heapOffset(backend, out);
  const index = new Array<number>(j).fill(0);
  for (let copied = 0; copied < count * bytes; copied += runBytes) {
    let element = begin[j]! * strides[j]!;
    for (let i = 0; i < j; i++) element += (begin[i]! + index[i]!) * strides[i]!;
    heap.copyWithin(dst, src + element * bytes, src + element * bytes + runBytes);
    dst += runBytes;
    for (let i = j - 1; i >= 0 && ++index[i]! === size[i]; i--) index[i] = 0;
  }
  return out;
}

function sliceOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (HEAP_BYTES[x.dtype] === undefined || x.shape.length === 0) return original(args as never);
    const { begin, size } = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size) as [number[], number[]];
    return heapSlice(args.backend as WasmBackendLike, x, begin_, size_);
  }) as tf.KernelFunc;
}

function splitOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (HEAP_BYTES[x.dtype] === undefined) return original(args as never);
    return splitBySlices(args, (begin, size) => heapSlice(args.backend as WasmBackendLike, x, begin, size));
  }) as unknown as tf.KernelFunc;
}

function concatOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    const dtype = inputs[0]?.dtype;
    if (dtype === undefined || HEAP_BYTES[dtype] === undefined || inputs.length < 2) return original(args as never);
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, inputs[0]!.shape)[0]!;
    tf.backend_util.assertParamsConsistent(
      inputs.map((t) => t.shape),
      axis,
    );
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(
      tf.backend_util.computeOutShape(
        inputs.map((t) => t.shape),
        axis,
      ),
      dtype,
    );
    const bytes = HEAP_BYTES[dtype]!;
    const heap = backend.wasm.HEAPU8;
    // Each input contributes one run of its inner dimensions (axis..) per index of the outer ones.
    const outer = tf.util.sizeFromShape(inputs[0]!.shape.slice(0, axis));
    const runs = inputs.map((t) => ({
      at: heapOffset(backend, t),
      bytes: tf.util.sizeFromShape(t.shape.slice(axis)) * bytes,
    }));
    let dst = heapOffset(backend, out);
    for (let o = 0; o < outer; o++)
      for (const run of runs) {
        heap.copyWithin(dst, run.at + o * run.bytes, run.at + (o + 1) * run.bytes);
        dst += run.bytes;
      }
    return out;
  }) as tf.KernelFunc;
}

/** x gathered along `axis` at int32 `indices` (batchDims 0): one copy per (outer index, gathered index). */
function gatherOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as { axis: number; batchDims: number };
    if (HEAP_BYTES[x.dtype] === undefined || indices.dtype !== 'int32' || batchDims !== 0)
      return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const dim = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const axisSize = x.shape[dim]!;
    const count = tf.util.sizeFromShape(indices.shape);
    const at = heapOffset(backend, indices);
    const ids = new Int32Array(backend.wasm.HEAPU8.buffer, at, count).slice(); // a copy: makeOutput may move the heap
    for (const id of ids)
      if (id < 0 || id >= axisSize) throw new Error(`GatherV2: the index value ${id} is not in [0, ${axisSize - 1}]`);
    const out = backend.makeOutput([...x.shape.slice(0, dim), ...indices.shape, ...x.shape.slice(dim + 1)], x.dtype);
    const heap = backend.wasm.HEAPU8;
    const runBytes = tf.util.sizeFromShape(x.shape.slice(dim + 1)) * HEAP_BYTES[x.dtype]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, dim));
    const src = heapOffset(backend, x);
    let dst = heapOffset(backend, out);
    for (let o = 0; o < outer; o++)
      for (const id of ids) {
        const from = src + (o * axisSize + id) * runBytes;
        heap.copyWithin(dst, from, from + runBytes);
        dst += runBytes;
      }
    return out;
  }) as tf.KernelFunc;
}

/** x repeated `reps` times along each dimension: the innermost row copied reps[-1] times per outer index. */
function tileOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const reps = (args.attrs as { reps: number[] }).reps;
    if (HEAP_BYTES[x.dtype] === undefined || x.shape.length === 0 || reps.length !== x.shape.length)
      return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    const total = tf.util.sizeFromShape(outShape);
    if (total === 0) return out;
    const heap = backend.wasm.HEAPU8;
    const rank = x.shape.length;
    const rowBytes = x.shape[rank - 1]! * HEAP_BYTES[x.dtype]!;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    const src = heapOffset(backend, x);
    let dst = heapOffset(backend, out);
    const index = new Array<number>(rank - 1).fill(0); // over the output's outer dimensions
    for (let row = 0, rows = total / outShape[rank - 1]!; row < rows; row++) {
      let element = 0;
      for (let i = 0; i < rank - 1; i++) element += (index[i]! % x.shape[i]!) * strides[i]!;
      const from = src + element * HEAP_BYTES[x.dtype]!;
      for (let r = 0; r < reps[rank - 1]!; r++) {
        heap.copyWithin(dst, from, from + rowBytes);
        dst += rowBytes;
      }
      for (let i = rank - 2; i >= 0 && ++index[i]! === outShape[i]; i--) index[i] = 0;
    }
    return out;
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

/** Cast: to the dtype a tensor already has, share its data (see Identity); to bool, x ≠ 0. */
function castOnHeap(original: tf.KernelFunc, identity: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const dtype = (args.attrs as { dtype: tf.DataType }).dtype;
    if (x.dtype === dtype) return identity(args as never);
    if (dtype !== 'bool' || (x.dtype !== 'float32' && x.dtype !== 'int32')) return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(x.shape, 'bool');
    const size = tf.util.sizeFromShape(x.shape);
    const heap = backend.wasm.HEAPU8.buffer;
    const values = new (x.dtype === 'int32' ? Int32Array : Float32Array)(heap, heapOffset(backend, x), size);
    const flags = new Uint8Array(heap, heapOffset(backend, out), size);
    for (let i = 0; i < size; i++) flags[i] = values[i] !== 0 ? 1 : 0;
    return out;
  }) as tf.KernelFunc;
}

let registered = false;

/**
 * Register the missing kernel and the faster Slice, SplitV, Concat, GatherV2, Tile, Cast, Identity,
 * Transpose (of size-1 axes: shared) and BatchMatMul on the wasm backend, and the native kernels when @rmt/kernels loads (idempotent).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
    });
  }
  const shared = replaceKernel('Identity', sharedIdentity);
  if (shared) replaceKernel('Cast', (original) => castOnHeap(original, shared));
  replaceKernel('Slice', sliceOnHeap);
  replaceKernel('SplitV', splitOnHeap);
  replaceKernel('Concat', concatOnHeap);
  replaceKernel('GatherV2', gatherOnHeap);
  replaceKernel('Tile', tileOnHeap);
  const transpose = tf.getKernel('Transpose', 'wasm');
  replaceKernel(
    'Transpose',
    (original) => ((args: KernelArgs) => sharedTranspose(args) ?? original(args as never)) as tf.KernelFunc,
  );
  const wasmMatMul = transpose
    ? replaceKernel('BatchMatMul', (original) => fastBatchMatMul(original, transpose.kernelFunc))
    : undefined;
  const native = loadKernels();
  if (native.available && wasmMatMul) registerNativeKernels(native.kernels);
}
