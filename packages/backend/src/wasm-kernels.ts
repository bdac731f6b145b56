// Kernels the wasm backend lacks or runs slowly, for a transformer training step.
// - tfjs-backend-wasm 4.22 has no UnsortedSegmentSum, which the gradient of `gather` (token embeddings,
//   picking the log-probability of the chosen token) calls. Without it, training on wasm throws.
// - Its BatchMatMul reaches XNNPACK (128-bit SIMD, one thread) only for a single, untransposed product;
//   transposed operands (every matmul gradient: dX = dY·Wᵀ, dW = Xᵀ·dY) and batched products (attention)
//   fall back to a scalar loop. Matmuls were ~80% of a training step. When @rmt/kernels compiled at install,
//   every float32 product runs there instead, natively on the wasm heap (measured ~220 GFLOP/s with AVX-512
//   against ~15 through XNNPACK), and so does Exp (a scalar libm call per element in wasm, 5.5 ns; there
//   vectorised, 0.5 ns, within 1 ulp: a step exponentiates [tokens × vocab] logits twice), and AdamW's
//   update (one pass per parameter instead of ~13 kernels: 18 → ~1 ms a step), and float32 add, subtract,
//   multiply and divide (tfjs-wasm computes a broadcast operand's index per element with a division per
//   dimension: RoPE's and RMSNorm's products took ~12 µs for 2,048 elements), and the fused RMSNorm, RoPE
//   and SwiGLU of fused.ts. Otherwise a transposed operand of a single product is materialised first
//   (a cheap copy) so that product takes XNNPACK's path.
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
import { loadKernels, type Kernels } from '@rmt/kernels';
import { ADAMW_KERNEL, type AdamWStep } from './adamw.js';
import { gradKernel, RMSNORM_KERNEL, ROPE_KERNEL, SWIGLU_KERNEL } from './fused.js';

interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array<ArrayBuffer> };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

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
  const values = new View(heap, wasm.dataIdMap.get(x.dataId).memoryOffset, size);
  const ids = new Int32Array(heap, wasm.dataIdMap.get(segmentIds.dataId).memoryOffset, idCount);
  const sums = new View(heap, wasm.dataIdMap.get(out.dataId).memoryOffset, numSegments * inner).fill(0);
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

/** e^x for float32 on the native kernels, in place on the wasm heap. */
function nativeExp(kernels: Kernels, original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype !== 'float32') return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(x.shape, 'float32');
    const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    kernels.exp(backend.wasm.HEAPU8.buffer, offset(x), offset(out), tf.util.sizeFromShape(x.shape));
    return out;
  }) as tf.KernelFunc;
}

/** One AdamW step (see adamw.ts) on the native kernels: three new heap tensors from one pass. */
function nativeAdamW(kernels: Kernels): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { p, m, v, g } = args.inputs as Record<'p' | 'm' | 'v' | 'g', tf.TensorInfo>;
    const s = args.attrs as unknown as AdamWStep;
    const backend = args.backend as WasmBackendLike;
    const outputs = [p, m, v].map(() => backend.makeOutput(p.shape, 'float32'));
    const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    const constants = Float32Array.of(s.lr, s.beta1, 1 - s.beta1, s.beta2, 1 - s.beta2, s.epsilon, s.c1, s.c2, s.decay, s.gradScale);
    kernels.adamw(backend.wasm.HEAPU8.buffer, [p, m, v, g, ...outputs].map(offset), tf.util.sizeFromShape(p.shape), constants);
    return outputs;
  }) as unknown as tf.KernelFunc;
}

const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 } as const;

/** Float32 a op b with broadcasting on the native kernels: each operand's strides over the output shape. */
function nativeBinary(kernels: Kernels, op: 0 | 1 | 2 | 3, original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args as never);
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    // Equal shapes are one flat row; otherwise the output's dimensions, each operand aligned to the right.
    const same = tf.util.arraysEqual(a.shape, b.shape);
    const shape = same ? [tf.util.sizeFromShape(outShape)] : outShape;
    const rank = shape.length;
    if (rank > 8) return original(args as never);
    const dims = new Int32Array(3 * rank);
    dims.set(shape);
    for (const [operand, at] of [[a.shape, rank], [b.shape, 2 * rank]] as const) {
      let stride = 1;
      for (let d = rank - 1, s = operand.length - 1; d >= 0; d--, s--) {
        const size = same ? shape[d]! : s >= 0 ? operand[s]! : 1;
        dims[at + d] = size === 1 ? 0 : stride;
        stride *= size;
      }
    }
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(outShape, 'float32');
    const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    kernels.binary(backend.wasm.HEAPU8.buffer, op, [offset(a), offset(b), offset(out)], dims);
    return out;
  }) as tf.KernelFunc;
}

/** The fused RMSNorm, RoPE and SwiGLU kernels of fused.ts and their gradients on the native kernels (float32). */
function nativeFused(kernels: Kernels): Record<string, tf.KernelFunc> {
  // Allocates the outputs, then calls the kernel with the heap (read after allocating: it may grow).
  const runMany = (args: KernelArgs, shapes: number[][], call: (memory: ArrayBuffer, at: (t: tf.TensorInfo) => number, outs: number[]) => void) => {
    for (const t of Object.values(args.inputs) as tf.TensorInfo[]) if (t.dtype !== 'float32') throw new Error(`fused kernels take float32, got ${t.dtype}`);
    const backend = args.backend as WasmBackendLike;
    const outs = shapes.map((shape) => backend.makeOutput(shape, 'float32'));
    const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
    call(backend.wasm.HEAPU8.buffer, at, outs.map(at));
    return outs;
  };
  const run = (args: KernelArgs, shape: number[], call: (memory: ArrayBuffer, at: (t: tf.TensorInfo) => number, out: number) => void) =>
    runMany(args, [shape], (memory, at, [out]) => call(memory, at, out!))[0]!;
  const ropeSizes = (x: tf.TensorInfo, cos: tf.TensorInfo, sin: tf.TensorInfo) => {
    const [heads, hd] = x.shape.slice(-2) as [number, number];
    const rows = tf.util.sizeFromShape(x.shape) / (heads * hd);
    if (tf.util.sizeFromShape(cos.shape) !== rows * hd || tf.util.sizeFromShape(sin.shape) !== rows * hd) {
      throw new Error(`rope: cos [${cos.shape}] and sin [${sin.shape}] do not match [${x.shape}]`);
    }
    return { rows, heads, hd };
  };
  return {
    [RMSNORM_KERNEL]: ((args: KernelArgs) => {
      const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
      const dim = x.shape[x.shape.length - 1]!;
      if (tf.util.sizeFromShape(w.shape) !== dim) throw new Error(`rmsNorm: weight of shape [${w.shape}] for rows of ${dim}`);
      const { eps } = args.attrs as { eps: number };
      return run(args, x.shape, (memory, at, out) => kernels.rmsnorm(memory, at(x), at(w), out, tf.util.sizeFromShape(x.shape) / dim, dim, eps));
    }) as tf.KernelFunc,
    [ROPE_KERNEL]: ((args: KernelArgs) => {
      const { x, cos, sin } = args.inputs as { x: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const { rows, heads, hd } = ropeSizes(x, cos, sin);
      return run(args, x.shape, (memory, at, out) => kernels.rope(memory, at(x), at(cos), at(sin), out, rows, heads, hd));
    }) as tf.KernelFunc,
    [gradKernel(ROPE_KERNEL)]: ((args: KernelArgs) => {
      const { dy, cos, sin } = args.inputs as { dy: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
      const { rows, heads, hd } = ropeSizes(dy, cos, sin);
      return run(args, dy.shape, (memory, at, out) => kernels.ropeGrad(memory, at(dy), at(cos), at(sin), out, rows, heads, hd));
    }) as tf.KernelFunc,
    [gradKernel(RMSNORM_KERNEL)]: ((args: KernelArgs) => {
      const { x, w, dy } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
      const dim = x.shape[x.shape.length - 1]!;
      const { eps } = args.attrs as { eps: number };
      return runMany(args, [x.shape, w.shape], (memory, at, [dx, dw]) =>
        kernels.rmsnormGrad(memory, at(x), at(w), at(dy), dx!, dw!, tf.util.sizeFromShape(x.shape) / dim, dim, eps),
      );
    }) as unknown as tf.KernelFunc,
    [gradKernel(SWIGLU_KERNEL)]: ((args: KernelArgs) => {
      const { gu, dy } = args.inputs as { gu: tf.TensorInfo; dy: tf.TensorInfo };
      const [rows, width] = gu.shape as [number, number];
      return run(args, gu.shape, (memory, at, out) => kernels.swigluGrad(memory, at(gu), at(dy), out, rows, width / 2));
    }) as tf.KernelFunc,
    [SWIGLU_KERNEL]: ((args: KernelArgs) => {
      const { gu } = args.inputs as { gu: tf.TensorInfo };
      const [rows, width] = gu.shape as [number, number];
      return run(args, [rows, width / 2], (memory, at, out) => kernels.swiglu(memory, at(gu), out, rows, width / 2));
    }) as tf.KernelFunc,
  };
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
  const src = backend.dataIdMap.get(x.dataId).memoryOffset;
  let dst = backend.dataIdMap.get(out.dataId).memoryOffset;
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
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const dim = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const begin = x.shape.map(() => 0);
    return tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, dim).map((part) => {
      const size = [...x.shape];
      size[dim] = part;
      const piece = heapSlice(args.backend as WasmBackendLike, x, [...begin], size);
      begin[dim]! += part;
      return piece;
    });
  }) as unknown as tf.KernelFunc;
}

function concatOnHeap(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const inputs = Object.values(args.inputs) as tf.TensorInfo[];
    const dtype = inputs[0]?.dtype;
    if (dtype === undefined || HEAP_BYTES[dtype] === undefined || inputs.length < 2) return original(args as never);
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, inputs[0]!.shape)[0]!;
    tf.backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const backend = args.backend as WasmBackendLike;
    const out = backend.makeOutput(tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis), dtype);
    const bytes = HEAP_BYTES[dtype]!;
    const heap = backend.wasm.HEAPU8;
    // Each input contributes one run of its inner dimensions (axis..) per index of the outer ones.
    const outer = tf.util.sizeFromShape(inputs[0]!.shape.slice(0, axis));
    const runs = inputs.map((t) => ({ at: backend.dataIdMap.get(t.dataId).memoryOffset, bytes: tf.util.sizeFromShape(t.shape.slice(axis)) * bytes }));
    let dst = backend.dataIdMap.get(out.dataId).memoryOffset;
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
    if (HEAP_BYTES[x.dtype] === undefined || indices.dtype !== 'int32' || batchDims !== 0) return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const dim = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const axisSize = x.shape[dim]!;
    const count = tf.util.sizeFromShape(indices.shape);
    const at = backend.dataIdMap.get(indices.dataId).memoryOffset;
    const ids = new Int32Array(backend.wasm.HEAPU8.buffer, at, count).slice(); // a copy: makeOutput may move the heap
    for (const id of ids) if (id < 0 || id >= axisSize) throw new Error(`GatherV2: the index value ${id} is not in [0, ${axisSize - 1}]`);
    const out = backend.makeOutput([...x.shape.slice(0, dim), ...indices.shape, ...x.shape.slice(dim + 1)], x.dtype);
    const heap = backend.wasm.HEAPU8;
    const runBytes = tf.util.sizeFromShape(x.shape.slice(dim + 1)) * HEAP_BYTES[x.dtype]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, dim));
    const src = backend.dataIdMap.get(x.dataId).memoryOffset;
    let dst = backend.dataIdMap.get(out.dataId).memoryOffset;
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
    if (HEAP_BYTES[x.dtype] === undefined || x.shape.length === 0 || reps.length !== x.shape.length) return original(args as never);
    const backend = args.backend as WasmBackendLike;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    const total = tf.util.sizeFromShape(outShape);
    if (total === 0) return out;
    const heap = backend.wasm.HEAPU8;
    const rank = x.shape.length;
    const rowBytes = x.shape[rank - 1]! * HEAP_BYTES[x.dtype]!;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    const src = backend.dataIdMap.get(x.dataId).memoryOffset;
    let dst = backend.dataIdMap.get(out.dataId).memoryOffset;
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
    const values = new (x.dtype === 'int32' ? Int32Array : Float32Array)(heap, backend.dataIdMap.get(x.dataId).memoryOffset, size);
    const flags = new Uint8Array(heap, backend.dataIdMap.get(out.dataId).memoryOffset, size);
    for (let i = 0; i < size; i++) flags[i] = values[i] !== 0 ? 1 : 0;
    return out;
  }) as tf.KernelFunc;
}

let registered = false;

/** How the wasm backend runs its matmuls, for `rmt info` and run metadata. */
export function wasmMatmulPath(): string {
  const native = loadKernels();
  return native.available ? `matmuls, arithmetic, exp, AdamW and fused blocks ${native.reason}` : `matmuls in WebAssembly: @rmt/kernels ${native.reason}`;
}

/** Register the missing kernel and the faster BatchMatMul, Slice, SplitV, Concat, GatherV2, Tile, Cast and Identity on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const native = loadKernels();
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc });
  }
  const identity = tf.getKernel('Identity', 'wasm');
  const cast = tf.getKernel('Cast', 'wasm');
  if (identity) {
    const shared = sharedIdentity(identity.kernelFunc);
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ ...identity, kernelFunc: shared });
    if (cast) {
      tf.unregisterKernel('Cast', 'wasm');
      tf.registerKernel({ ...cast, kernelFunc: castOnHeap(cast.kernelFunc, shared) });
    }
  }
  for (const [name, faster] of [['Slice', sliceOnHeap], ['SplitV', splitOnHeap], ['Concat', concatOnHeap], ['GatherV2', gatherOnHeap], ['Tile', tileOnHeap]] as const) {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...kernel, kernelFunc: faster(kernel.kernelFunc) });
  }
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (matMul && transpose) {
    tf.unregisterKernel('BatchMatMul', 'wasm');
    const wasmPath = fastBatchMatMul(matMul.kernelFunc, transpose.kernelFunc);
    tf.registerKernel({ ...matMul, kernelFunc: native.available ? nativeBatchMatMul(native.kernels, wasmPath) : wasmPath });
  }
  if (native.available) {
    tf.registerKernel({ kernelName: ADAMW_KERNEL, backendName: 'wasm', kernelFunc: nativeAdamW(native.kernels) });
    for (const [kernelName, kernelFunc] of Object.entries(nativeFused(native.kernels))) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    for (const [name, op] of Object.entries(BINARY_OPS)) {
      const kernel = tf.getKernel(name, 'wasm');
      if (!kernel) continue;
      tf.unregisterKernel(name, 'wasm');
      tf.registerKernel({ ...kernel, kernelFunc: nativeBinary(native.kernels, op, kernel.kernelFunc) });
    }
  }
  const exp = tf.getKernel('Exp', 'wasm');
  if (exp && native.available) {
    tf.unregisterKernel('Exp', 'wasm');
    tf.registerKernel({ ...exp, kernelFunc: nativeExp(native.kernels, exp.kernelFunc) });
  }
}
