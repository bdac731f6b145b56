// Float32 outputs of the native kernels on the cpu backend, reused. There every output was a fresh
// Float32Array: a train step at 135M parameters allocated 6.7 GiB of them, each zeroed and faulted in by
// the OS (~110 ms a GiB measured here) and freed only when V8's garbage collector found it — whose threads
// then took the second core from the GEMM (its products ran 2× slower inside a step than alone).
//
// An array is reused only when nothing can reach it: allocated here, every tensor whose data is in its
// buffer disposed (tfjs's cpu Slice hands out subarray views of its input, so bindings are counted per
// buffer), and never handed out by read/readSync (tfjs's cpu backend returns its own array to dataSync,
// which a caller may keep past dispose). The native kernels write every element of their outputs, as on
// the wasm heap, whose malloc does not clear memory either.
import * as tf from '@tensorflow/tfjs';

/** What the pool patches on a tfjs-backend-cpu instance. */
interface CpuBackendInternals {
  data: { get(dataId: object): { values?: unknown } | undefined; has(dataId: object): boolean };
  write(values: unknown, shape: number[], dtype: tf.DataType): object;
  move(dataId: object, values: unknown, shape: number[], dtype: tf.DataType, refCount: number): void;
  readSync(dataId: object): unknown;
  disposeData(dataId: object, force?: boolean): boolean;
}

interface Owned {
  array: Float32Array;
  /** Tensors whose data lies in this buffer (the array itself or views of it). */
  bindings: number;
  /** Handed out by a read: never reused. */
  escaped: boolean;
}

/** Smaller arrays come from V8's own allocator quickly enough; only these are pooled. */
const MIN_FLOATS = 1 << 14;

export class CpuBufferPool {
  private readonly owned = new WeakMap<ArrayBufferLike, Owned>();
  private readonly free = new Map<number, Float32Array[]>();
  private freeBytes = 0;

  /** `capBytes`: the most the pool keeps unused (beyond it, arrays are left to the garbage collector). */
  constructor(
    backend: CpuBackendInternals,
    private readonly capBytes: number,
  ) {
    const { write, move, readSync, disposeData } = backend;
    const bind = (values: unknown) => {
      const entry = ArrayBuffer.isView(values) ? this.owned.get(values.buffer) : undefined;
      if (entry) entry.bindings++;
    };
    const valuesOf = (dataId: object) => (backend.data.has(dataId) ? backend.data.get(dataId)?.values : undefined);
    backend.write = (values, shape, dtype) => {
      bind(values);
      return write.call(backend, values, shape, dtype);
    };
    backend.move = (dataId, values, shape, dtype, refCount) => {
      bind(values);
      move.call(backend, dataId, values, shape, dtype, refCount);
    };
    backend.readSync = (dataId) => {
      const values = valuesOf(dataId);
      const entry = ArrayBuffer.isView(values) ? this.owned.get(values.buffer) : undefined;
      if (entry) entry.escaped = true;
      return readSync.call(backend, dataId);
    };
    backend.disposeData = (dataId, force) => {
      const values = valuesOf(dataId);
      const released = disposeData.call(backend, dataId, force);
      if (released && ArrayBuffer.isView(values) && !backend.data.has(dataId)) this.unbind(values.buffer);
      return released;
    };
  }

  /**
   * A float32 array of `size` elements, its contents arbitrary: a free one of that size or up to a quarter
   * larger (a view of its start; the whole array returns to the pool), else a new one.
   */
  take(size: number): Float32Array {
    if (size < MIN_FLOATS) return new Float32Array(size);
    let best: number | undefined;
    for (const [length, list] of this.free)
      if (list.length > 0 && length >= size && length <= size * 1.25 && (best === undefined || length < best))
        best = length;
    const reused = best === undefined ? undefined : this.free.get(best)!.pop()!;
    if (reused) {
      this.freeBytes -= reused.byteLength;
      return reused.length === size ? reused : reused.subarray(0, size);
    }
    const array = new Float32Array(size);
    this.owned.set(array.buffer, { array, bindings: 0, escaped: false });
    return array;
  }

  private unbind(buffer: ArrayBufferLike) {
    const entry = this.owned.get(buffer);
    if (!entry || --entry.bindings > 0 || entry.escaped) return;
    if (this.freeBytes + entry.array.byteLength > this.capBytes) return;
    const list = this.free.get(entry.array.length) ?? [];
    list.push(entry.array);
    this.free.set(entry.array.length, list);
    this.freeBytes += entry.array.byteLength;
  }
}

const pools = new WeakMap<object, CpuBufferPool>();

/** The pool of a cpu backend instance, installed on first use. */
export function cpuBufferPool(backend: object): CpuBufferPool {
  let pool = pools.get(backend);
  if (!pool) pools.set(backend, (pool = new CpuBufferPool(backend as CpuBackendInternals, 2 ** 31)));
  return pool;
}
