import { describe, expect, it } from 'vitest';
import { readAllValues, readArray, readScalar, readValues, tf } from '@rmt/backend';
import { describeEachBackend } from '@rmt/testing';
import { aggregate, clippedPolicyLoss, dualLoss, groupAdvantages, klPerToken, ntpLoss } from './index.js';

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

describe('groupAdvantages', () => {
  it('matches hand values, with explicit unordered group ids', async () => {
    // Group a: rewards 1, 0 → mean 0.5, std 0.5 → ±1/(0.5+δ); group b: 1, 1 → no signal.
    const out = groupAdvantages([1, 1, 0, 1], ['a', 'b', 'a', 'b'], 0);
    expect(out.advantages).toEqual([1, 0, -1, 0]);
    expect(out.groups).toBe(2);
    expect(out.zeroStdGroups).toBe(1);
    // Three rewards 0, 0.5, 1: mean 0.5, population std √(1/6).
    const three = groupAdvantages([0, 0.5, 1], [7, 7, 7], 1e-6);
    const std = Math.sqrt(1 / 6);
    expect(three.advantages[0]).toBeCloseTo(-0.5 / (std + 1e-6), 12);
    expect(three.advantages[1]).toBe(0);
  });

  it('edge cases: empty batch, a group of one, NaN rewards, mismatched lengths', async () => {
    expect(groupAdvantages([], [])).toMatchObject({ advantages: [], groups: 0, zeroStdGroups: 0 });
    expect(groupAdvantages([0.3], [1]).advantages).toEqual([0]);
    expect(() => groupAdvantages([NaN], [1])).toThrow(/reward 0 is NaN/);
    expect(() => groupAdvantages([1, 2], [1])).toThrow(/2 rewards but 1 group ids/);
  });
});

describeEachBackend('dual loss', () => {
  const B = 6;
  const T = 5;
  const rand = lcg(11);
  const lp = Array.from({ length: B }, () => Array.from({ length: T }, () => -0.2 - 2 * rand()));
  const old = lp.map((row) => row.map((x) => x + (rand() - 0.5) * 0.8)); // ratios from ~0.67 to ~1.5: some clip
  const adv = Array.from({ length: B }, () => rand() * 2 - 1);
  const mask: number[][] = lp.map((row, b) => row.map((_, t) => (t < 2 + (b % 4) ? 1 : 0)));
  const eps = 0.2;

  // float64 reference of the per-token surrogate and its gradient d/d logProbs.
  const perToken = lp.map((row, b) =>
    row.map((x, t) => {
      const ratio = Math.exp(x - old[b]![t]!);
      const a = adv[b]!;
      const clipped = Math.min(Math.max(ratio, 1 - eps), 1 + eps) * a;
      const loss = -Math.min(ratio * a, clipped);
      const grad = ratio * a <= clipped ? -ratio * a : 0; // clipped side is constant in θ
      return { loss, grad, clipped: ratio * a > clipped };
    }),
  );
  const tokens = mask.flat().reduce((s, m) => s + m, 0);

  const run = async (rows: number[], aggregation: 'token-mean' | 'sequence-mean', normalizer?: number) => {
    const [value, grad] = tf.tidy(() => {
      const x = tf.tensor2d(rows.map((b) => lp[b]!));
      const f = (input: tf.Tensor) =>
        clippedPolicyLoss({
          logProbs: input as tf.Tensor2D,
          oldLogProbs: tf.tensor2d(rows.map((b) => old[b]!)),
          advantages: tf.tensor1d(rows.map((b) => adv[b]!)),
          mask: tf.tensor2d(rows.map((b) => mask[b]!)),
          epsilon: eps,
          aggregation,
          normalizer,
        }).loss;
      const { value, grad } = tf.valueAndGrad(f)(x);
      return [value, grad];
    });
    const [v, g] = await readAllValues([value, grad]);
    return { loss: v![0]!, grad: Array.from(g!) };
  };

  it('token-mean clipped surrogate and its gradient match float64', async () => {
    const { loss, grad } = await run([0, 1, 2, 3, 4, 5], 'token-mean');
    const ref = perToken.flat().reduce((s, p, i) => s + p.loss * mask.flat()[i]!, 0) / tokens;
    expect(loss).toBeCloseTo(ref, 5);
    perToken.flat().forEach((p, i) => expect(grad[i]).toBeCloseTo((p.grad * mask.flat()[i]!) / tokens, 5));
    expect(perToken.flat().some((p, i) => p.clipped && mask.flat()[i])).toBe(true); // the test exercises clipping
  });

  it('sequence-mean averages each sequence first', async () => {
    const { loss } = await run([0, 1, 2, 3, 4, 5], 'sequence-mean');
    const ref =
      perToken.reduce((s, row, b) => {
        const n = mask[b]!.reduce((a, m) => a + m, 0);
        return s + row.reduce((a, p, t) => a + p.loss * mask[b]![t]!, 0) / n;
      }, 0) / B;
    expect(loss).toBeCloseTo(ref, 5);
  });

  it('micro-batching with the full-batch normaliser changes neither loss nor gradient', async () => {
    for (const mode of ['token-mean', 'sequence-mean'] as const) {
      const full = await run([0, 1, 2, 3, 4, 5], mode);
      const count = mode === 'token-mean' ? tokens : B;
      const a = await run([0, 1], mode, count);
      const b = await run([2, 3, 4, 5], mode, count);
      expect(a.loss + b.loss).toBeCloseTo(full.loss, 5);
      [...a.grad, ...b.grad].forEach((g, i) => expect(g).toBeCloseTo(full.grad[i]!, 6));
    }
  });

  it('groups with equal rewards give exactly zero RL gradient', async () => {
    const { advantages } = groupAdvantages([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]);
    const grad = await readValues(
      tf.tidy(() =>
        tf.grad(
          (x: tf.Tensor) =>
            clippedPolicyLoss({
              logProbs: x as tf.Tensor2D,
              oldLogProbs: tf.tensor2d(old),
              advantages: tf.tensor1d(advantages),
              mask: tf.tensor2d(mask),
              epsilon: eps,
              aggregation: 'token-mean',
            }).loss,
        )(tf.tensor2d(lp)),
      ),
    );
    expect(Array.from(grad).every((g) => g === 0)).toBe(true);
  });

  it('KL estimators match float64: k1 = lp − ref, k3 = e^(ref−lp) − (ref−lp) − 1 ≥ 0', async () => {
    const k1 = await tf.tidy(() => klPerToken(tf.tensor2d(lp), tf.tensor2d(old), 'k1')).data();
    const k3 = await tf.tidy(() => klPerToken(tf.tensor2d(lp), tf.tensor2d(old), 'k3')).data();
    lp.flat().forEach((x, i) => {
      const d = old.flat()[i]! - x;
      expect(k1[i]).toBeCloseTo(-d, 5);
      expect(k3[i]).toBeCloseTo(Math.exp(d) - d - 1, 5);
      expect(k3[i]).toBeGreaterThanOrEqual(0);
    });
  });

  it('the NTP term is back-propagated (λ > 0) only through non-RL positions, and matches float64', async () => {
    const V = 4;
    const logitsData = Array.from({ length: 2 }, () =>
      Array.from({ length: 3 }, () => Array.from({ length: V }, () => rand() * 4 - 2)),
    );
    const targets = [
      [1, 3, 0],
      [2, 2, 1],
    ];
    const ntpMask = [
      [1, 0, 1], // position 1 of row 0 is an RL site: excluded
      [1, 1, 0], // last position of row 1 is padding
    ];
    const lambda = 0.1;
    const out = tf.tidy(() => {
      const f = (logits: tf.Tensor) =>
        dualLoss({
          ntp: ntpLoss({
            logits: logits as tf.Tensor3D,
            targets: tf.tensor2d(targets, undefined, 'int32'),
            mask: tf.tensor2d(ntpMask),
            aggregation: 'token-mean',
          }),
          beta: 0,
          lambda,
        });
      return tf.valueAndGrad(f)(tf.tensor3d(logitsData));
    });
    const value = await readScalar(out.value);
    const grad = await readArray<number[][][]>(out.grad);
    let ref = 0;
    logitsData.forEach((row, b) =>
      row.forEach((logit, t) => {
        if (!ntpMask[b]![t]) return;
        const m = Math.max(...logit);
        const lse = m + Math.log(logit.reduce((s, x) => s + Math.exp(x - m), 0));
        ref -= logit[targets[b]![t]!]! - lse;
      }),
    );
    expect(value).toBeCloseTo((lambda * ref) / 4, 5);
    expect(grad[0]![0]!.some((g) => g !== 0)).toBe(true);
    expect(grad[0]![1]!.every((g) => g === 0)).toBe(true); // the RL site gets no NTP gradient
    expect(grad[1]![2]!.every((g) => g === 0)).toBe(true);
  });

  it('an empty mask aggregates to 0, not NaN', async () => {
    const v = await readScalar(tf.tidy(() => aggregate(tf.tensor2d([[NaN, 1]]), tf.tensor2d([[0, 0]]), 'token-mean')));
    expect(v).toBe(0);
  });
});
