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
