import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

// The cpu backend's pool of native-kernel outputs (cpu-pool.ts): an array is reused after its tensor is
// disposed, and never while anything can still reach it.
describeEachBackend(
  'cpu buffer pool',
  () => {
    const n = 1 << 15; // above the pool's smallest size
    const native = loadKernels().available;
    const arrayOf = (t: tf.Tensor) =>
      (tf.backend() as unknown as { data: { get(id: object): { values: unknown } } }).data.get(t.dataId).values;
    const a = () => tf.tensor1d(Array.from({ length: n }, (_, i) => i));
    const b = () => tf.fill([n], 0.5);

    it.runIf(native)('reuses a disposed output for the next of its size', () => {
      const [x, y] = [a(), b()];
      const first = tf.add(x, y);
      const array = arrayOf(first);
      first.dispose();
      const second = tf.mul(x, y);
      expect(arrayOf(second)).toBe(array);
      expect(second.dataSync()[3]).toBe(1.5);
      tf.dispose([x, y, second]);
    });

    it('never reuses an array a read handed out, nor one a live view still uses', () => {
      const [x, y] = [a(), b()];
      const read = tf.add(x, y);
      const values = read.dataSync(); // the cpu backend's own array
      read.dispose();
      const product = tf.mul(x, y); // would take read's array
      expect(values[5]).toBe(5.5);
      const sum = tf.add(x, y);
      // A tensor on a view of sum's array, as tfjs-cpu's own Slice makes.
      const backend = tf.backend() as unknown as { makeTensorInfo(s: number[], d: string, v: unknown): tf.TensorInfo };
      const view = tf
        .engine()
        .makeTensorFromTensorInfo(
          backend.makeTensorInfo([n - 8], 'float32', (arrayOf(sum) as Float32Array).subarray(8)),
        );
      sum.dispose();
      const difference = tf.sub(x, y); // would take sum's array
      expect(view.dataSync()[0]).toBe(8.5);
      expect(difference.dataSync()[3]).toBe(2.5);
      expect(product.dataSync()[3]).toBe(1.5);
      tf.dispose([x, y, view, product, difference]);
    });
  },
  ['cpu'],
);
