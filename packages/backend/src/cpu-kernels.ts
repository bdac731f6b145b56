// Kernels tfjs's cpu backend runs far slower than their arithmetic needs, for a transformer training step
// (plain JavaScript on each tensor's own array; the cpu backend is what holds a model beyond the wasm heap).
// Measured on a train step of the bench model (d128, 8 × 64 tokens), before → after:
// - UnsortedSegmentSum (the gradient of every `gather`: the embedding lookup, the picked log-probability):
//   tfjs-cpu compares every id with every segment, O(segments × rows); 28 s of a 34 s step. One pass here.
// - SplitV (the fused q/k/v and gate/up products) and Transpose (attention heads) compute an index per
//   element through generic strides; here a split copies rows, a transpose walks its output in order
//   (whole runs where the last axis stays last), and Concat copies each input's rows as runs.
// - Softmax is five kernels' worth of passes and allocations; here one pass per row.
import * as tf from '@tensorflow/tfjs';
import { sharedTranspose, type KernelArgs } from './wasm-backend.js';

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

type Numbers = Float32Array | Int32Array;
const numbers = (backend: unknown, t: tf.TensorInfo): Numbers | undefined => {
  const v = (backend as CpuBackendLike).data.get(t.dataId).values;
  return v instanceof Float32Array || v instanceof Int32Array ? v : undefined;
};
const Like = (dtype: tf.DataType) => (dtype === 'int32' ? Int32Array : Float32Array);

function unsortedSegmentSum(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const segmentIds = args.inputs.segmentIds as tf.TensorInfo;
    const values = numbers(args.backend, x);
    const ids = numbers(args.backend, segmentIds);
    if (!values || !(ids instanceof Int32Array) || (x.dtype !== 'float32' && x.dtype !== 'int32'))
      return original(args as never);
    const numSegments = (args.attrs as { numSegments: number }).numSegments;
    const idCount = tf.util.sizeFromShape(segmentIds.shape);
    const inner = idCount === 0 ? 0 : values.length / idCount;
    const sums = new (Like(x.dtype))(numSegments * inner);
    for (let i = 0; i < idCount; i++) {
      const segment = ids[i]!;
      if (segment < 0 || segment >= numSegments) continue; // dropped, as in TensorFlow
      const src = i * inner;
      const dst = segment * inner;
      for (let j = 0; j < inner; j++) sums[dst + j]! += values[src + j]!;
    }
    return (args.backend as CpuBackendLike).makeTensorInfo(
      [numSegments, ...x.shape.slice(segmentIds.shape.length)],
      x.dtype,
      sums,
    );
  }) as unknown as tf.KernelFunc;
}

function splitRows(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = numbers(args.backend, x);
    if (!values) return original(args as never);
    const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
    const dim = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, dim));
    const inner = tf.util.sizeFromShape(x.shape.slice(dim + 1));
    const width = x.shape[dim]! * inner;
    let start = 0;
    return tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, dim).map((part) => {
      const run = part * inner;
      const out = new (Like(x.dtype))(outer * run);
      for (let o = 0; o < outer; o++) out.set(values.subarray(o * width + start, o * width + start + run), o * run);
      start += run;
      const shape = [...x.shape];
      shape[dim] = part;
      return (args.backend as CpuBackendLike).makeTensorInfo(shape, x.dtype, out);
    });
  }) as unknown as tf.KernelFunc;
}

function transposeInOrder(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const x = args.inputs.x as tf.TensorInfo;
    const values = numbers(args.backend, x);
    const perm = (args.attrs as { perm: number[] }).perm;
    if (!values || perm.length > 6) return original(args as never);
    // The identity (the gradient of every axis-0 gather) or a move of size-1 axes (decoding's heads): the same data.
    const shared = sharedTranspose(args);
    if (shared) return shared;
    const rank = perm.length;
    const inStrides = new Array<number>(rank);
    for (let d = rank - 1, s = 1; d >= 0; d--) {
      inStrides[d] = s;
      s *= x.shape[d]!;
    }
    const shape = perm.map((p) => x.shape[p]!);
    // Pad to rank 6 in front: six nested loops over the output, each input stride fixed per loop.
    const pad = 6 - rank;
    const n = [...new Array<number>(pad).fill(1), ...shape];
    const st = [...new Array<number>(pad).fill(0), ...perm.map((p) => inStrides[p]!)];
    const out = new (Like(x.dtype))(values.length);
    let o = 0;
    for (let a = 0; a < n[0]!; a++)
      for (let b = 0; b < n[1]!; b++)
        for (let c = 0; c < n[2]!; c++)
          for (let d = 0; d < n[3]!; d++)
            for (let e = 0; e < n[4]!; e++) {
              const base = a * st[0]! + b * st[1]! + c * st[2]! + d * st[3]! + e * st[4]!;
              const s5 = st[5]!;
              if (s5 === 1) {
                // The last axis stays last (every attention transpose): whole runs at a time.
                out.set(values.subarray(base, base + n[5]!), o);
                o += n[5]!;
              } else for (let f = 0, i = base; f < n[5]!; f++, i += s5) out[o++] = values[i]!;
            }
    return (args.backend as CpuBackendLike).makeTensorInfo(shape, x.dtype, out);
  }) as unknown as tf.KernelFunc;
}

function softmaxRows(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const logits = args.inputs.logits as tf.TensorInfo;
    const values = numbers(args.backend, logits);
    const { dim } = args.attrs as { dim: number };
    const last = logits.shape.length - 1;
    if (!(values instanceof Float32Array) || (dim !== -1 && dim !== last)) return original(args as never);
    const width = logits.shape[last]!;
    const out = new Float32Array(values.length);
    for (let r = 0; r < values.length; r += width) {
      let max = -Infinity;
      for (let j = r; j < r + width; j++) if (values[j]! > max) max = values[j]!;
      let sum = 0;
      for (let j = r; j < r + width; j++) sum += out[j] = Math.exp(values[j]! - max);
      const scale = 1 / sum;
      for (let j = r; j < r + width; j++) out[j]! *= scale;
    }
    return (args.backend as CpuBackendLike).makeTensorInfo(logits.shape, 'float32', out);
  }) as unknown as tf.KernelFunc;
}

function concatRuns(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const first = inputs[0];
    const arrays = inputs.map((t) => numbers(args.backend, t));
    if (!first || arrays.some((v) => !v) || inputs.some((t) => t.dtype !== first.dtype)) return original(args as never);
    const axis = tf.util.parseAxisParam((args.attrs as { axis: number }).axis, first.shape)[0]!;
    const shape = tf.backend_util.computeOutShape(
      inputs.map((t) => t.shape),
      axis,
    );
    const outer = tf.util.sizeFromShape(shape.slice(0, axis));
    const runs = inputs.map((t) => tf.util.sizeFromShape(t.shape.slice(axis)));
    const out = new (Like(first.dtype))(tf.util.sizeFromShape(shape));
    // Row by row, each input's contiguous run at once (tfjs-cpu copies element by element).
    let o = 0;
    for (let r = 0; r < outer; r++)
      arrays.forEach((v, i) => {
        out.set(v!.subarray(r * runs[i]!, (r + 1) * runs[i]!), o);
        o += runs[i]!;
      });
    return (args.backend as CpuBackendLike).makeTensorInfo(shape, first.dtype, out);
  }) as unknown as tf.KernelFunc;
}

let registered = false;

/** Replace the cpu backend's UnsortedSegmentSum, SplitV, Transpose, Softmax and Concat (idempotent). */
export function registerCpuKernels(): void {
  if (registered) return;
  registered = true;
  const replace = (name: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc) => {
    const kernel = tf.getKernel(name, 'cpu');
    if (!kernel) return;
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...kernel, kernelFunc: wrap(kernel.kernelFunc) });
  };
  replace('UnsortedSegmentSum', unsortedSegmentSum);
  replace('SplitV', splitRows);
  replace('Transpose', transposeInOrder);
  replace('Softmax', softmaxRows);
  replace('Concat', concatRuns);
}
