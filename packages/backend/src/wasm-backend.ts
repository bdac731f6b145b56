// What RMT's wasm kernels use of tfjs-backend-wasm's internals: the heap, each tensor's offset in it, and
// kernel replacement. Tensors live in the wasm heap; a kernel reads and writes them there in place.
import * as tf from '@tensorflow/tfjs';

export interface WasmBackendLike {
  wasm: { HEAPU8: Uint8Array<ArrayBuffer> };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  incRef(dataId: object): void;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: tf.backend_util.BackendValues,
  ): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** The tfjs backends whose kernels RMT replaces with @rmt/kernels. */
export type NativeHostName = 'wasm' | 'cpu';

export type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown };

/** A tensor's byte offset in the wasm heap. */
export function heapOffset(backend: WasmBackendLike, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * Replace a registered wasm kernel by `wrap(original)` (which may call the original for cases it does not
 * handle). Returns the new kernel function, or undefined when tfjs has no such kernel.
 */
export function replaceKernel(
  name: string,
  wrap: (original: tf.KernelFunc) => tf.KernelFunc,
  backendName: NativeHostName = 'wasm',
): tf.KernelFunc | undefined {
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) return undefined;
  const kernelFunc = wrap(kernel.kernelFunc);
  tf.unregisterKernel(name, backendName);
  tf.registerKernel({ ...kernel, kernelFunc });
  return kernelFunc;
}

/**
 * Whether transposing `shape` by `perm` only moves axes of size 1 (the identity, or a decode step's
 * [B, 1, H, hd] → [B, H, 1, hd]): the elements stay in order, so the result is a reshape of the same data.
 */
function keepsOrder(shape: readonly number[], perm: readonly number[]): boolean {
  const moved = perm.filter((p) => shape[p] !== 1);
  return moved.every((p, i) => i === 0 || p > moved[i - 1]!);
}

/** A transpose that {@link keepsOrder} shares the input's data under its new shape, as tfjs's Reshape does. */
export function sharedTranspose(args: KernelArgs): tf.TensorInfo | undefined {
  const x = args.inputs.x as tf.TensorInfo;
  const perm = (args.attrs as { perm: number[] }).perm;
  if (x.dtype === 'string' || !keepsOrder(x.shape, perm)) return undefined;
  (args.backend as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: perm.map((p) => x.shape[p]!), dtype: x.dtype };
}

/** SplitV as slices: the parts of x along the split axis, each made by `slice(begin, size)`. */
export function splitBySlices(
  args: KernelArgs,
  slice: (begin: number[], size: number[]) => tf.TensorInfo,
): tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  const { numOrSizeSplits, axis } = args.attrs as { numOrSizeSplits: number | number[]; axis: number };
  const dim = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const begin = x.shape.map(() => 0);
  return tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, dim).map((part) => {
    const size = [...x.shape];
    size[dim] = part;
    const piece = slice([...begin], size);
    begin[dim]! += part;
    return piece;
  });
}
