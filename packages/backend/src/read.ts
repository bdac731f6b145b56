// Reading tensors back to JavaScript. A GPU backend in Node can only read asynchronously (`dataSync()` on
// WebGPU needs an OffscreenCanvas, which Node lacks), so every read on RMT's run path goes through these,
// on every backend: one code path. `await t.data()` returns exactly the values `dataSync()` would (the
// same read, resolved in a microtask), so results stay bit-identical on the CPU backends.
import * as tf from '@tensorflow/tfjs';

/** The tensor's values (typed array of its dtype), then disposes it. */
export async function readValues<D extends tf.DataType = 'float32'>(t: tf.Tensor): Promise<tf.DataTypeMap[D]> {
  try {
    return (await t.data()) as tf.DataTypeMap[D];
  } finally {
    t.dispose();
  }
}

/** The tensor as nested arrays (what `arraySync()` returns), then disposes it. */
export async function readArray<T = number[][]>(t: tf.Tensor): Promise<T> {
  try {
    return (await t.array()) as T;
  } finally {
    t.dispose();
  }
}

/** The first value of the tensor (a scalar's value), then disposes it. */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await readValues(t))[0]!;
}

/** Several tensors read together (a GPU backend then waits once, not once per tensor), then disposed. */
export async function readAllValues(ts: readonly tf.Tensor[]): Promise<tf.TypedArray[]> {
  try {
    return (await Promise.all(ts.map((t) => t.data()))) as tf.TypedArray[];
  } finally {
    tf.dispose([...ts]);
  }
}
