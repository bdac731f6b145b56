// The sums a training step takes whose order a backend could leave to chance (webgpu-determinism.ts): the
// gradient of `gather` (UnsortedSegmentSum) and a weight gradient's long inner product. On every backend: the
// same bits on every call, and the segment sum in row order, exactly as a float32 loop adds it.
import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

let seed = 3;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const floats = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);

describeEachBackend('deterministic sums', () => {
  it('unsortedSegmentSum adds rows in order (float32, ids out of range dropped), the same bits each call', async () => {
    const [rows, inner, segments] = [414, 12, 50];
    const x = floats(rows * inner);
    // Positions of 9 rows of 46 (every id 9 times), with a few ids TensorFlow drops.
    const ids = Int32Array.from({ length: rows }, (_, i) => (i % 97 === 5 ? -1 : i % 101 === 7 ? segments : i % 46));
    const expected = new Float32Array(segments * inner);
    for (let n = 0; n < rows; n++) {
      if (ids[n]! < 0 || ids[n]! >= segments) continue;
      for (let j = 0; j < inner; j++)
        expected[ids[n]! * inner + j] = Math.fround(expected[ids[n]! * inner + j]! + x[n * inner + j]!);
    }
    const xt = tf.tensor3d(x, [rows, 3, 4]);
    const idt = tf.tensor1d(ids, 'int32');
    for (let call = 0; call < 3; call++) {
      const out = tf.unsortedSegmentSum(xt, idt, segments);
      expect(out.shape).toEqual([segments, 3, 4]);
      expect(await out.data()).toEqual(expected);
      out.dispose();
    }
    // As the gradient of an embedding lookup.
    const table = tf.variable(tf.zeros([segments, inner]));
    const kept = ids.map((id) => (id >= 0 && id < segments ? id : 0));
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(t, tf.tensor1d(kept, 'int32')), tf.tensor2d(x, [rows, inner]))),
    )(table);
    const grad = new Float32Array(segments * inner);
    for (let n = 0; n < rows; n++)
      for (let j = 0; j < inner; j++)
        grad[kept[n]! * inner + j] = Math.fround(grad[kept[n]! * inner + j]! + x[n * inner + j]!);
    expect(await g.data()).toEqual(grad);
    // As the gradient of the picked log-probability: one value per row into a flat [rows × vocabulary].
    const flat = tf.variable(tf.zeros([rows * segments]));
    const picks = Int32Array.from({ length: rows }, (_, n) => ((n * 7919) % rows) * segments + (n % segments));
    const w = x.subarray(0, rows);
    const gp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(picks, 'int32')), tf.tensor1d(w))))(
      flat,
    );
    const picked = new Float32Array(rows * segments);
    for (let n = 0; n < rows; n++) picked[picks[n]!] = Math.fround(picked[picks[n]!]! + w[n]!);
    expect(await gp.data()).toEqual(picked);
    tf.dispose([xt, idt, table, g, flat, gp]);
  });

  it('a weight gradient over 4096 tokens (64×4096 · 4096×64) gives the same bits each call, near float64', async () => {
    const [m, k, n] = [64, 4096, 64];
    const a = floats(k * m); // stored [k, m]: the product is aᵀ·b, as dW = xᵀ·dy
    const b = floats(k * n);
    const at = tf.tensor2d(a, [k, m]);
    const bt = tf.tensor2d(b, [k, n]);
    const first = await tf.matMul(at, bt, true, false).data();
    for (let call = 0; call < 3; call++) {
      const out = tf.matMul(at, bt, true, false);
      expect(await out.data()).toEqual(first);
      out.dispose();
    }
    for (const [i, j] of [
      [0, 0],
      [13, 47],
      [63, 63],
    ] as const) {
      let ref = 0;
      for (let p = 0; p < k; p++) ref += a[p * m + i]! * b[p * n + j]!;
      expect(Math.abs(first[i * n + j]! - ref)).toBeLessThan(1e-3);
    }
    tf.dispose([at, bt]);
  });
});
