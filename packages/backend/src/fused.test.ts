import { expect, it } from 'vitest';
import { describeEachBackend } from '@rmt/testing';
import { rmsNorm, rope, swiglu, tf } from './index.js';

let seed = 5;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const tensor = (shape: number[]) =>
  tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random), shape);
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!)));
};
/** The [hd, hd] matrix R with x·R = concat(−x₂, x₁), as the model builds it. */
const rotation = (hd: number) => {
  const r = new Float32Array(hd * hd);
  for (let i = 0; i < hd / 2; i++) {
    r[(i + hd / 2) * hd + i] = -1;
    r[i * hd + i + hd / 2] = 1;
  }
  return tf.tensor2d(r, [hd, hd]);
};

describeEachBackend('fused RMSNorm, RoPE, SwiGLU (single kernels on wasm, when compiled)', () => {
  it('rmsNorm and its gradients match float64', async () => {
    const [rows, dim, eps] = [6, 20, 1e-5];
    const x = tensor([2, 3, dim]);
    const w = tensor([dim]);
    const dy = tensor([2, 3, dim]);
    const xv = await x.data(),
      wv = await w.data(),
      gv = await dy.data();
    const y = new Float64Array(rows * dim),
      dx = new Float64Array(rows * dim),
      dw = new Float64Array(dim);
    for (let r = 0; r < rows; r++) {
      let ms = 0;
      for (let j = 0; j < dim; j++) ms += xv[r * dim + j]! ** 2 / dim;
      const s = 1 / Math.sqrt(ms + eps);
      let dot = 0; // mean over j of dy·w·x
      for (let j = 0; j < dim; j++) dot += (gv[r * dim + j]! * wv[j]! * xv[r * dim + j]!) / dim;
      for (let j = 0; j < dim; j++) {
        const i = r * dim + j;
        y[i] = xv[i]! * s * wv[j]!;
        dx[i] = s * gv[i]! * wv[j]! - xv[i]! * s ** 3 * dot;
        dw[j]! += gv[i]! * xv[i]! * s;
      }
    }
    close(await rmsNorm(x, w, eps).data(), y, 2e-6);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNorm(a, b, eps))([x, w], dy);
    close(await gx!.data(), dx, 1e-5);
    close(await gw!.data(), dw, 1e-5);
  });

  it('rope and its gradient match float64 (rotate-half, cos and sin shared by the heads)', async () => {
    const [b, t, heads, hd] = [2, 3, 4, 8];
    const x = tensor([b, t, heads, hd]);
    const cos = tensor([b, t, 1, hd]);
    const sin = tensor([b, t, 1, hd]);
    const dy = tensor([b, t, heads, hd]);
    const xv = await x.data(),
      cv = await cos.data(),
      sv = await sin.data(),
      gv = await dy.data();
    const y = new Float64Array(xv.length),
      dx = new Float64Array(xv.length);
    for (let r = 0; r < b * t; r++)
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < hd; i++) {
          const at = (r * heads + h) * hd;
          const rotated = i < hd / 2 ? -xv[at + i + hd / 2]! : xv[at + i - hd / 2]!;
          y[at + i] = xv[at + i]! * cv[r * hd + i]! + rotated * sv[r * hd + i]!;
          // y[j] depends on x[i] through j = i (cos) and its rotation partner (±sin).
          const partner = i < hd / 2 ? i + hd / 2 : i - hd / 2;
          const sign = i < hd / 2 ? 1 : -1; // ∂y[partner]/∂x[i] = sign·sin[partner]
          dx[at + i] = gv[at + i]! * cv[r * hd + i]! + sign * gv[at + partner]! * sv[r * hd + partner]!;
        }
    const r = rotation(hd);
    close(await rope(x, cos, sin, r).data(), y, 1e-6);
    close(
      await tf
        .grad((a: tf.Tensor) => rope(a, cos, sin, r))(x, dy)
        .data(),
      dx,
      1e-6,
    );
  });

  it('swiglu and its gradient match float64', async () => {
    const [n, h] = [5, 7];
    const gu = tensor([n, 2 * h]);
    const dy = tensor([n, h]);
    const v = await gu.data(),
      gv = await dy.data();
    const y = new Float64Array(n * h),
      d = new Float64Array(n * 2 * h);
    for (let r = 0; r < n; r++)
      for (let j = 0; j < h; j++) {
        const g = v[r * 2 * h + j]!,
          u = v[r * 2 * h + h + j]!,
          s = 1 / (1 + Math.exp(-g)),
          dyv = gv[r * h + j]!;
        y[r * h + j] = g * s * u;
        d[r * 2 * h + j] = dyv * u * s * (1 + g * (1 - s));
        d[r * 2 * h + h + j] = dyv * g * s;
      }
    close(await swiglu(gu as tf.Tensor2D).data(), y, 1e-6);
    close(
      await tf
        .grad((a: tf.Tensor) => swiglu(a as tf.Tensor2D))(gu, dy)
        .data(),
      d,
      1e-6,
    );
  });
});
