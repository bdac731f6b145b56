// Per-token weights of the clipped surrogate (truncated importance sampling, METHOD.md §7), against a
// hand computation: with ρ = 1 the per-token loss is −w·A, summed under the mask over the normaliser.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadBackend, tf } from '@rmt/backend';
import { clippedPolicyLoss } from './index.js';

beforeAll(async () => {
  await loadBackend('cpu');
});

describe('clippedPolicyLoss weights', () => {
  it('scales each token’s surrogate by its weight (absent weights are 1)', async () => {
    const lp = [
      [-1, -2, -0.5],
      [-0.3, -0.7, -1.1],
    ];
    const input = () => ({
      logProbs: tf.tensor2d(lp),
      oldLogProbs: tf.tensor2d(lp),
      advantages: tf.tensor1d([1.5, -0.5]),
      mask: tf.tensor2d([
        [1, 1, 0],
        [1, 1, 1],
      ]),
      epsilon: 0.2,
      aggregation: 'token-mean' as const,
      normalizer: 5,
    });
    const weights = [
      [2, 0.5, 9],
      [1, 0, 2],
    ];
    const plain = (await clippedPolicyLoss(input()).loss.data())[0]!;
    const weighted = (await clippedPolicyLoss({ ...input(), weights: tf.tensor2d(weights) }).loss.data())[0]!;
    // −(1.5·(1 + 1) − 0.5·(1 + 1 + 1)) / 5 and −(1.5·(2 + 0.5) − 0.5·(1 + 0 + 2)) / 5 (the masked 9 counts nothing).
    expect(plain).toBeCloseTo(-(1.5 * 2 - 0.5 * 3) / 5, 6);
    expect(weighted).toBeCloseTo(-(1.5 * 2.5 - 0.5 * 3) / 5, 6);
  });
});
