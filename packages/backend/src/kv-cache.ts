// A preallocated KV cache: decoding writes each step's keys and values into place instead of concatenating
// the whole cache into a new tensor every step (which copied B·heads·S·hd floats per layer and step, and
// allocated as much). tfjs tensors are immutable, so the write is a kernel of our own that mutates the
// cache's data and returns a tensor sharing it: on wasm (the heap) and cpu (the tensor's array), one strided
// copy on @rmt/kernels (JavaScript copies without them). Other backends get the same result from tfjs ops
// (a new tensor).
import * as tf from '@tensorflow/tfjs';
import { loadKernels } from '@rmt/kernels';
import { heapOffset, type KernelArgs, type NativeHostName, type WasmBackendLike } from './wasm-backend.js';

const KV_WRITE_KERNEL = 'RmtKvWrite';

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } };
  incRef(dataId: object): void;
}

/** The cache's and the update's float32 data, as views (wasm heap) or the cpu backend's own arrays. */
function views(
  backend: unknown,
  name: NativeHostName,
  cache: tf.TensorInfo,
  update: tf.TensorInfo,
): [Float32Array, Float32Array] {
  if (name === 'wasm') {
    const wasm = backend as WasmBackendLike;
    const heap = wasm.wasm.HEAPU8.buffer;
    return [
      new Float32Array(heap, heapOffset(wasm, cache), tf.util.sizeFromShape(cache.shape)),
      new Float32Array(heap, heapOffset(wasm, update), tf.util.sizeFromShape(update.shape)),
    ];
  }
  const cpu = backend as CpuBackendLike;
  const [c, u] = [cpu.data.get(cache.dataId).values, cpu.data.get(update.dataId).values];
  if (!(c instanceof Float32Array) || !(u instanceof Float32Array))
    throw new Error('kvCacheWrite: float32 tensors without Float32Array data');
  return [c, u];
}

function kvWrite(name: NativeHostName): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { cache, update } = args.inputs as { cache: tf.TensorInfo; update: tf.TensorInfo };
    const { position } = args.attrs as { position: number };
    const rank = cache.shape.length;
    const [outer, capacity, inner] = [cache.shape.slice(0, -2), cache.shape[rank - 2]!, cache.shape[rank - 1]!];
    const t = update.shape[rank - 2]!;
    const [dst, src] = views(args.backend, name, cache, update);
    const rows = tf.util.sizeFromShape(outer);
    const native = loadKernels();
    if (native.available) {
      // One strided copy (rows of t·inner floats, capacity·inner apart in the cache), not a set() per row:
      // 90 µs a layer for a decode step of 128 rows in JavaScript.
      const at = dst.subarray(position * inner);
      native.kernels.copy(null, src, at, Int32Array.of(rows, t * inner, t * inner, 1, capacity * inner, 1));
    } else
      for (let r = 0; r < rows; r++)
        dst.set(src.subarray(r * t * inner, (r + 1) * t * inner), (r * capacity + position) * inner);
    (args.backend as CpuBackendLike).incRef(cache.dataId);
    return { dataId: cache.dataId, shape: cache.shape, dtype: cache.dtype };
  }) as unknown as tf.KernelFunc;
}

let registered = false;

/** Register the in-place write on wasm and cpu (idempotent). */
export function registerKvWrite(): void {
  if (registered) return;
  registered = true;
  for (const name of ['wasm', 'cpu'] as const)
    tf.registerKernel({ kernelName: KV_WRITE_KERNEL, backendName: name, kernelFunc: kvWrite(name) });
}

/** Whether {@link kvCacheWrite} writes in place on the active backend (false: it builds a new tensor). */
export function kvCacheWritesInPlace(): boolean {
  return tf.getKernel(KV_WRITE_KERNEL, tf.getBackend()) !== undefined;
}

/**
 * cache[..., position : position + t, :] = update, for a cache [..., capacity, hd] and an update
 * [..., t, hd] with the same leading dimensions (float32). Returns the cache with the update written: on
 * wasm and cpu the same data, written in place (the `cache` tensor passed in sees the write too, and stays
 * valid: dispose one of the two handles), elsewhere a new tensor built by tfjs ops. For inference only:
 * no gradient.
 */
export function kvCacheWrite<R extends tf.Rank>(
  cache: tf.Tensor<R>,
  update: tf.Tensor<R>,
  position: number,
): tf.Tensor<R> {
  const axis = cache.rank - 2;
  const capacity = cache.shape[axis]!;
  const t = update.shape[axis]!;
  if (
    update.rank !== cache.rank ||
    update.shape.some((d, i) => i !== axis && d !== cache.shape[i]) ||
    position < 0 ||
    position + t > capacity ||
    !Number.isInteger(position)
  ) {
    throw new Error(
      `kvCacheWrite: update [${update.shape}] at position ${position} does not fit cache [${cache.shape}]`,
    );
  }
  if (cache.dtype !== 'float32' || update.dtype !== 'float32') throw new Error('kvCacheWrite: float32 tensors only');
  if (kvCacheWritesInPlace())
    return tf.engine().runKernel(KV_WRITE_KERNEL, { cache, update }, { position }) as tf.Tensor<R>;
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    const begin = cache.shape.map(() => 0);
    if (position > 0)
      parts.push(
        tf.slice(
          cache,
          begin,
          cache.shape.map((d, i) => (i === axis ? position : d)),
        ),
      );
    parts.push(update);
    if (position + t < capacity)
      parts.push(
        tf.slice(
          cache,
          begin.map((_, i) => (i === axis ? position + t : 0)),
          cache.shape.map((d, i) => (i === axis ? capacity - position - t : d)),
        ),
      );
    return tf.concat(parts, axis) as tf.Tensor<R>;
  });
}
