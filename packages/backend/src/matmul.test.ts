import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { tf } from './index.js';

let seed = 3;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;

/** Batched op(A)·op(B) in float64 with the batch dimensions broadcast as tfjs does. */
async function reference(
  a: tf.Tensor,
  b: tf.Tensor,
  transA: boolean,
  transB: boolean,
): Promise<{ shape: number[]; values: Float64Array }> {
  const av = await a.data(),
    bv = await b.data();
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const n = transB ? br : bc;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = outer.reduce((x, y) => x * y, 1);
  const values = new Float64Array(batch * m * n);
  // The flat batch index of an operand for output batch index `i`, following broadcasting per dimension.
  const source = (shape: number[], i: number) => {
    const dims = shape.slice(0, -2);
    let flat = 0;
    let rest = i;
    const idx = outer
      .map((d) => d)
      .reverse()
      .map((d) => {
        const r = rest % d;
        rest = Math.floor(rest / d);
        return r;
      })
      .reverse();
    const offset = outer.length - dims.length;
    dims.forEach((d, j) => (flat = flat * d + (d === 1 ? 0 : idx[j + offset]!)));
    return flat;
  };
  for (let i = 0; i < batch; i++) {
    const ao = source(a.shape, i) * m * k,
      bo = source(b.shape, i) * k * n;
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += av[ao + (transA ? p * m + r : r * k + p)]! * bv[bo + (transB ? c * k + p : p * n + c)]!;
        values[i * m * n + r * n + c] = s;
      }
  }
  return { shape: [...outer, m, n], values };
}

describeEachBackend('matMul (the native kernels on wasm, when compiled)', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[37, 70], [70, 45], false, false], // one product, every tile edge
    [[70, 37], [70, 45], true, false], // dW = Xᵀ·dY
    [[37, 70], [45, 70], false, true], // dX = dY·Wᵀ
    [[2, 3, 9, 8], [2, 3, 8, 11], false, false], // attention: batched
    [[2, 3, 9, 8], [2, 3, 11, 8], false, true], // scores = Q·Kᵀ
    [[2, 3, 8, 9], [2, 3, 8, 11], true, false],
    [[4, 5, 6], [6, 7], false, false], // one B for every product
    [[1, 5, 6], [3, 6, 7], false, false], // one A for every product
    [[2, 3, 5, 6], [3, 6, 7], false, false], // B repeats along the first dimension: the WebAssembly path
  ];
  for (const [aShape, bShape, transA, transB] of cases)
    it(`[${aShape}]${transA ? 'ᵀ' : ''} · [${bShape}]${transB ? 'ᵀ' : ''} matches float64`, async () => {
      const a = tf.tensor(Float32Array.from({ length: aShape.reduce((x, y) => x * y) }, random), aShape);
      const b = tf.tensor(Float32Array.from({ length: bShape.reduce((x, y) => x * y) }, random), bShape);
      const got = tf.matMul(a, b, transA, transB);
      const want = await reference(a, b, transA, transB);
      expect(got.shape).toEqual(want.shape);
      const values = await got.data();
      want.values.forEach((v, i) => expect(Math.abs(values[i]! - v)).toBeLessThan(1e-5));
      tf.dispose([a, b, got]);
    });

  it('differentiates through the product like float64', async () => {
    const a = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = tf.tensor2d([
      [1, -1],
      [2, 0.5],
      [-3, 1],
    ]);
    const dy = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), dy)))([a, b]);
    // dA = dY·Bᵀ and dB = Aᵀ·dY, by hand.
    expect(await da!.array()).toEqual([
      [-1, 3, -1],
      [-1, 8, -5],
    ]);
    expect(await db!.array()).toEqual([
      [13, 18],
      [17, 24],
      [21, 30],
    ]);
    tf.dispose([a, b, dy, da!, db!]);
  });
});

describeEachBackend('exp (the native kernels on wasm, when compiled)', (backend) => {
  // Normal float32 results only: native TensorFlow flushes subnormals to zero. WGSL only promises exp to
  // 3 + 2·|x| ulp (the WGSL spec's accuracy table, Vulkan's bound): lavapipe is ~20 ulp off at x = −87,
  // so webgpu is held to that bound instead of ~2 ulp (a softmax's terms stay within 1e-5 relative).
  it('matches float64 within float32 rounding, with NaN, ±∞ and masked logits', async () => {
    const xs = [
      ...Array.from({ length: 1000 }, (_, i) => -87 + 0.175 * i),
      Number.NaN,
      -Infinity,
      Infinity,
      -1e30,
      0,
      89,
    ];
    const got = await tf.exp(tf.tensor1d(xs)).data();
    xs.forEach((x, i) => {
      const want = Math.exp(Math.fround(x)); // e^x of the float32 the tensor holds
      if (Number.isNaN(want)) expect(got[i]).toBeNaN();
      else if (want === 0 || !Number.isFinite(want) || want > 3.4e38) expect(got[i]).toBe(Math.fround(want));
      else
        expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(
          want * (backend === 'webgpu' ? (3 + 2 * Math.abs(x)) * 2 ** -23 : 2.5e-7),
        );
    });
  });
});
