import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf, tokenLogProbs } from './index.js';

// A tiny embedding → linear next-token model: the ops of a transformer step that stress the backend
// (gather and its gradient, matmul, log-softmax) with AdamW-style updates.
describeEachBackend('training step', () => {
  it('gathers the embedding gradient (UnsortedSegmentSum) like a float64 loop', () => {
    const ids = [2, 0, 2, 1];
    const table = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]));
    const upstream = [
      [1, 10],
      [2, 20],
      [3, 30],
      [4, 40],
    ];
    const grad = tf.tidy(() => {
      const idx = tf.tensor1d(ids, 'int32');
      const dy = tf.tensor2d(upstream);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), dy)))(table).arraySync();
    });
    // Row r collects the upstream rows of the ids equal to r.
    expect(grad).toEqual([
      [2, 20],
      [4, 40],
      [4, 40],
    ]);
    table.dispose();
  });

  it('trains (loss falls) and leaks no tensors across steps', () => {
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
        tf.tidy(() => {
          const cost = optimizer.minimize(() => {
            const h = tf.gather(emb, inputs);
            const logits = tf.reshape(tf.matMul(tf.reshape(h, [6, dim]), out), [1, 6, vocab]);
            return tf.neg(tf.mean(tokenLogProbs(logits, targets))) as tf.Scalar;
          }, true);
          return cost!.dataSync()[0]!;
        }),
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
