import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { describeEachBackend } from '@rmt/testing';
import {
  entropy,
  logSoftmax,
  maskedMean,
  maskedSum,
  readAllValues,
  softmax,
  sumOfSquares,
  tf,
  tokenLogProbs,
  topKEntropy,
} from './index.js';

// Independent float64 references: plain loops over JS numbers, no tfjs.
function refLogSumExp(row: number[]): number {
  if (row.some(Number.isNaN)) return NaN;
  const m = Math.max(...row);
  if (m === -Infinity) return -Infinity;
  if (m === Infinity) return Infinity;
  return m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
}
function refLogSoftmax(row: number[]): number[] {
  const lse = refLogSumExp(row);
  return row.map((x) => x - lse);
}
function refEntropy(row: number[]): number {
  return -refLogSoftmax(row).reduce((s, lp) => {
    const p = Math.exp(lp);
    return p === 0 ? s : s + p * lp;
  }, 0);
}
function refTopK(row: number[], k: number): number[] {
  return [...row].sort((a, b) => b - a).slice(0, k);
}

// Deterministic pseudo-random logits (a small LCG: the test must not depend on tfjs's RNG).
function lcgRows(rows: number, cols: number, seed: number, scale: number): number[][] {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (next() * 2 - 1) * scale));
}

const RANDOM = lcgRows(4, 23, 7, 6);
const EXTREME = [
  [1e4, -1e4, 0, 1e4, 3],
  [-Infinity, 0, 1, -Infinity, -2],
  [-1e4, -1e4, -1e4, -1e4, -1e4],
  [50, 49, -Infinity, 48, 0],
];
const REL = 1e-5;

function expectClose(actual: ArrayLike<number>, expected: number[], rel = REL, abs = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) expect(a, `index ${i}`).toBeNaN();
    else if (!Number.isFinite(e)) expect(a, `index ${i}`).toBe(e);
    else expect(Math.abs(a - e), `index ${i}: ${a} vs ${e}`).toBeLessThanOrEqual(abs + rel * Math.abs(e));
  }
}

describeEachBackend('numerics', (backend) => {
  it('log-softmax matches float64 on random and extreme logits', async () => {
    for (const rows of [RANDOM, EXTREME]) {
      const out = await tf.tidy(() => logSoftmax(tf.tensor2d(rows))).data();
      // float32 inputs: 1e4 ± small offsets lose precision in float32 itself, so compare in absolute terms.
      expectClose(out, rows.flatMap(refLogSoftmax), 1e-5, 2e-3);
    }
  });

  it('full-vocabulary entropy matches float64 (nats), including uniform rows = ln V', async () => {
    // One fused kernel each way where @rmt/kernels runs (wasm and cpu); tfjs ops elsewhere.
    expect(tf.getKernel('RmtEntropy', backend) !== undefined).toBe(
      (backend === 'wasm' || backend === 'cpu') && loadKernels().available,
    );
    const uniform = [[0, 0, 0, 0]];
    expectClose(await tf.tidy(() => entropy(tf.tensor2d(uniform))).data(), [Math.log(4)]);
    expectClose(await tf.tidy(() => entropy(tf.tensor2d(RANDOM))).data(), RANDOM.map(refEntropy));
    expectClose(await tf.tidy(() => entropy(tf.tensor2d(EXTREME))).data(), EXTREME.map(refEntropy), 1e-4, 1e-5);
    // Hand values: two equal maxima far above the rest → ln 2; one -1e4 row of equal values → ln 5.
    expect(refEntropy(EXTREME[0]!)).toBeCloseTo(Math.log(2), 12);
    expect(refEntropy(EXTREME[2]!)).toBeCloseTo(Math.log(5), 12);
  });

  it('top-k entropy is the entropy of the softmax over the k largest logits', async () => {
    for (const k of [1, 3, 16, 100]) {
      const out = await tf.tidy(() => topKEntropy(tf.tensor2d(RANDOM), k)).data();
      expectClose(
        out,
        RANDOM.map((row) => refEntropy(refTopK(row, k))),
      );
    }
    expectClose(
      await tf.tidy(() => topKEntropy(tf.tensor2d(EXTREME), 3)).data(),
      EXTREME.map((row) => refEntropy(refTopK(row, 3))),
      1e-4,
      1e-5,
    );
    expect(() => topKEntropy(tf.tensor2d(RANDOM), 0)).toThrow(/positive integer/);
  });

  it('a NaN logit makes its row NaN and leaves the others alone', async () => {
    const rows = [
      [0, NaN, 1],
      [0, 1, 2],
    ];
    const lsm = await tf.tidy(() => logSoftmax(tf.tensor2d(rows))).data();
    expect(Array.from(lsm.slice(0, 3)).every(Number.isNaN)).toBe(true);
    expectClose(lsm.slice(3), refLogSoftmax(rows[1]!));
    const h = await tf.tidy(() => entropy(tf.tensor2d(rows))).data();
    expect(h[0]).toBeNaN();
    expectClose([h[1]!], [refEntropy(rows[1]!)]);
  });

  it('entropy is differentiable: ∂H/∂x_i = −p_i·(log p_i + H) in float64, also with underflowing entries', async () => {
    const rows = [...RANDOM.slice(0, 2), RANDOM[2]!.map((x, i) => (i === 1 ? 200 : i === 2 ? -200 : x))];
    const grad = await tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(entropy(x)))(tf.tensor2d(rows))).data();
    const expected = rows.flatMap((row) => {
      const lp = refLogSoftmax(row);
      const h = refEntropy(row);
      return lp.map((l) => -Math.exp(l) * (l + h));
    });
    expectClose(grad, expected, 1e-4, 1e-6);
  });

  it('token log-probabilities and their gradient (one-hot − softmax) match float64', async () => {
    const logits = RANDOM.slice(0, 3); // [3, 23]
    const targets = [5, 0, 22];
    const [values, grad] = await readAllValues(
      tf.tidy(() => {
        const x = tf.tensor3d([logits]); // [1, 3, 23]
        const t = tf.tensor2d([targets], [1, 3], 'int32');
        const g = tf.grad((input: tf.Tensor) => tf.sum(tokenLogProbs(input, t)))(x);
        return [tokenLogProbs(x, t), g];
      }),
    );
    expectClose(
      values!,
      logits.map((row, i) => refLogSoftmax(row)[targets[i]!]!),
    );
    const expectedGrad = logits.flatMap((row, i) =>
      refLogSoftmax(row).map((lp, j) => (j === targets[i] ? 1 : 0) - Math.exp(lp)),
    );
    expectClose(grad!, expectedGrad);
  });

  it('token log-probabilities: extreme rows, float targets, a weighted gradient — float64 (one kernel on wasm and cpu)', async () => {
    // [4, 5]: a −Inf entry, logits across e^x's range (±80), random ones.
    const logits = [EXTREME[3]!, [80, -80, 40, -40, 0], RANDOM[0]!.slice(0, 5), RANDOM[1]!.slice(0, 5)];
    const targets = [1, 4, 3, 0];
    const weights = [0.5, -2, 1.5, 3];
    const [values, grad] = await readAllValues(
      tf.tidy(() => {
        const x = tf.tensor2d(logits);
        const t = tf.tensor1d(targets, 'float32');
        const w = tf.tensor1d(weights);
        const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(tokenLogProbs(input, t), w)))(x);
        return [tokenLogProbs(x, t), g];
      }),
    );
    expectClose(
      values!,
      logits.map((row, i) => refLogSoftmax(row)[targets[i]!]!),
    );
    const expectedGrad = logits.flatMap((row, i) =>
      refLogSoftmax(row).map((lp, j) => weights[i]! * ((j === targets[i] ? 1 : 0) - Math.exp(lp))),
    );
    expectClose(grad!, expectedGrad);
  });

  it('softmax and its gradient match float64, masked (−1e30) entries included (one kernel on wasm and cpu)', async () => {
    const rows = RANDOM.map((row, r) => row.map((x, j) => (j === r ? -1e30 : x))); // [4, 23]
    const dy = lcgRows(4, 23, 11, 1);
    const [y, grad] = await readAllValues(
      tf.tidy(() => {
        const x = tf.tensor3d([rows]); // [1, 4, 23]
        const g = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(softmax(input), tf.tensor3d([dy]))))(x);
        return [softmax(x), g];
      }),
    );
    const p = rows.map((row) => refLogSoftmax(row).map(Math.exp));
    expectClose(y!, p.flat(), REL, 1e-7);
    const expectedGrad = p.flatMap((pr, r) => {
      const dot = pr.reduce((s, pj, j) => s + pj * dy[r]![j]!, 0);
      return pr.map((pj, j) => pj * (dy[r]![j]! - dot));
    });
    expectClose(grad!, expectedGrad, 1e-4, 1e-6);
  });

  it('sumOfSquares is Σ x² (float64), for a tensor of any rank', async () => {
    const rows = lcgRows(37, 29, 3, 4);
    const want = rows.flat().reduce((s, x) => s + Math.fround(x) ** 2, 0);
    const got = await tf.tidy(() => sumOfSquares(tf.tensor3d([rows]))).data();
    expect(got.length).toBe(1);
    expectClose(got, [want], 1e-6);
  });

  it('token log-probabilities reject mismatched shapes', async () => {
    expect(() => tokenLogProbs(tf.zeros([2, 3, 5]), tf.zeros([2, 4], 'int32'))).toThrow(/targets shape/);
  });

  it('masked mean/sum skip masked entries, even NaN and Inf, and give 0 for an empty mask', async () => {
    const x = tf.tensor2d([
      [1, 2, NaN, 4],
      [Infinity, 3, 5, -1],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 0, 1],
      [0, 0, 0, 0],
    ]);
    expectClose(await maskedSum(x, mask, 1).data(), [7, 0]);
    expectClose(await maskedMean(x, mask, 1).data(), [7 / 3, 0]);
    expectClose(await maskedMean(x, mask).data(), [7 / 3]);
    // Fractional weights are a weighted mean.
    expectClose(await maskedMean(tf.tensor1d([2, 4]), tf.tensor1d([0.25, 0.75])).data(), [3.5]);
    // A NaN inside the mask propagates.
    expect((await maskedMean(x, tf.onesLike(x), 1).data())[0]).toBeNaN();
    tf.dispose([x, mask]);
  });
});
