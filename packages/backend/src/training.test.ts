import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { readAllValues, readArray, readScalar, tf, tokenLogProbs } from './index.js';

// A tiny embedding → linear next-token model: the ops of a transformer step that stress the backend
// (gather and its gradient, matmul, log-softmax) with AdamW-style updates.
describeEachBackend('training step', () => {
  it('gathers the embedding gradient (UnsortedSegmentSum) like a float64 loop', async () => {
    const ids = [2, 0, 2, 1];
    const table = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]));
    const upstream = [
      [1, 10],
      [2, 20],
      [3, 30],
      [4, 40],
    ];
    const grad = await readArray(
      tf.tidy(() => {
        const idx = tf.tensor1d(ids, 'int32');
        const dy = tf.tensor2d(upstream);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), dy)))(table);
      }),
    );
    // Row r collects the upstream rows of the ids equal to r.
    expect(grad).toEqual([
      [2, 20],
      [4, 40],
      [4, 40],
    ]);
    table.dispose();
  });

  it('trains (loss falls) and leaks no tensors across steps', async () => {
    const vocab = 11;
    const dim = 8;
    const emb = tf.variable(tf.randomNormal([vocab, dim], 0, 0.5, 'float32', 1));
    const out = tf.variable(tf.randomNormal([dim, vocab], 0, 0.5, 'float32', 2));
    const optimizer = tf.train.adam(0.05);
    const inputs = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5, 6, 7]], [1, 6], 'int32');
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 30; i++) {
      losses.push(
        await readScalar(
          tf.tidy(() => {
            const cost = optimizer.minimize(() => {
              const h = tf.gather(emb, inputs);
              const logits = tf.reshape(tf.matMul(tf.reshape(h, [6, dim]), out), [1, 6, vocab]);
              return tf.neg(tf.mean(tokenLogProbs(logits, targets))) as tf.Scalar;
            }, true);
            return cost!;
          }),
        ),
      );
      counts.push(tf.memory().numTensors);
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    // Adam creates its moment variables in the first step; after that the count must stay flat.
    expect(new Set(counts.slice(1)).size).toBe(1);
    optimizer.dispose();
    tf.dispose([emb, out, inputs, targets]);
  });
});

// Every transpose combination of a matmul (the wasm backend routes transposed operands through an explicit
// transpose to reach XNNPACK) against a float64 loop, and with no memory left behind.
describeEachBackend('matMul with transposed operands', () => {
  const A = Array.from({ length: 5 * 7 }, (_, i) => Math.sin(i + 1));
  const B = Array.from({ length: 7 * 3 }, (_, i) => Math.cos(2 * i + 1));
  const at = (m: number[], cols: number, r: number, c: number) => m[r * cols + c]!;
  // reference: A [5,7] · B [7,3] in float64
  const ref = Array.from({ length: 5 * 3 }, (_, k) => {
    const [r, c] = [Math.floor(k / 3), k % 3];
    let s = 0;
    for (let i = 0; i < 7; i++) s += at(A, 7, r, i) * at(B, 3, i, c);
    return s;
  });
  const transposed = (m: number[], rows: number, cols: number) =>
    Array.from({ length: rows * cols }, (_, k) => at(m, cols, k % rows, Math.floor(k / rows)));

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('transposeA=%s transposeB=%s equals float64, batched too, no leaks', async (ta, tb) => {
    const bytes = tf.memory().numBytes;
    const tensors = tf.memory().numTensors;
    const [s, bt] = await readAllValues(
      tf.tidy(() => {
        const a = ta ? tf.tensor2d(transposed(A, 5, 7), [7, 5]) : tf.tensor2d(A, [5, 7]);
        const b = tb ? tf.tensor2d(transposed(B, 7, 3), [3, 7]) : tf.tensor2d(B, [7, 3]);
        return [tf.matMul(a, b, ta, tb), tf.matMul(tf.stack([a, a]), tf.stack([b, b]), ta, tb)];
      }),
    );
    const got = { single: Array.from(s!), batched: Array.from(bt!) };
    got.single.forEach((x, i) => expect(Math.abs(x - ref[i]!)).toBeLessThan(1e-5));
    expect(got.batched).toEqual([...got.single, ...got.single]);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
  });
});
