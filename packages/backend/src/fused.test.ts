import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { describeEachBackend } from '@rmt/testing';
import { attention, rmsNorm, rope, swiglu, tf, type BackendName } from './index.js';

let seed = 5;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const tensor = (shape: number[]) =>
  tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, random), shape);
/**
 * |got − want| ≤ tol·(1 + |scale|) elementwise (scale: the reference itself unless given); one assertion naming
 * the first element out of tolerance (an expect per element takes seconds on the 560,000 of the largest case).
 */
const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, scale: ArrayLike<number> = want) => {
  expect(got.length).toBe(want.length);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++)
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(scale[i]!)))) bad = i;
  expect(bad < 0 ? 'all close' : `[${bad}]: got ${got[bad]}, want ${want[bad]}`).toBe('all close');
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

/** The fused kernels of fused.ts with their gradients, and whether `backend` runs them as single kernels. */
const FUSED_KERNELS = ['RmtRMSNorm', 'RmtRoPE', 'RmtSwiGLU'].flatMap((k) => [k, `${k}Grad`]);
const fusedOn = (backend: BackendName) =>
  backend === 'webgpu' || ((backend === 'wasm' || backend === 'cpu') && loadKernels().available);

/**
 * rmsNorm of x [...lead, dim], and its gradients, against float64. dw sums a term per row: over many rows
 * (`dwAgainstTerms`) its float32 rounding grows with Σ|term| rather than with |dw|, which is what it is
 * compared relative to then (on every backend: a sequential float32 sum drifts as far as a tree does).
 */
async function checkRmsNorm(lead: number[], dim: number, dwAgainstTerms = false) {
  const eps = 1e-5;
  const rows = lead.reduce((a, b) => a * b, 1);
  const x = tensor([...lead, dim]);
  const w = tensor([dim]);
  const dy = tensor([...lead, dim]);
  const xv = await x.data(),
    wv = await w.data(),
    gv = await dy.data();
  const y = new Float64Array(rows * dim),
    dx = new Float64Array(rows * dim),
    dw = new Float64Array(dim),
    dwTerms = new Float64Array(dim);
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
      dwTerms[j]! += Math.abs(gv[i]! * xv[i]! * s);
    }
  }
  close(await rmsNorm(x, w, eps).data(), y, 2e-6);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => rmsNorm(a, b, eps));
  const [gx, gw] = grads([x, w], dy);
  close(await gx!.data(), dx, 1e-5);
  close(await gw!.data(), dw, 1e-5, dwAgainstTerms ? dwTerms : dw);
  // The dw column sum runs in a fixed order (no atomics): a second run gives the same bits.
  const [gx2, gw2] = grads([x, w], dy);
  expect(Array.from(await gx2!.data())).toEqual(Array.from(await gx!.data()));
  expect(Array.from(await gw2!.data())).toEqual(Array.from(await gw!.data()));
  tf.dispose([x, w, dy, gx!, gw!, gx2!, gw2!]);
}

/** rope of x [b, t, heads, hd] with cos and sin [b, t, 1, hd], and its gradient, against float64. */
async function checkRope(b: number, t: number, heads: number, hd: number) {
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
  tf.dispose([x, cos, sin, dy, r]);
}

/** swiglu of gu [n, 2h], and its gradient, against float64. */
async function checkSwiglu(n: number, h: number) {
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
  tf.dispose([gu, dy]);
}

describeEachBackend(
  'fused RMSNorm, RoPE, SwiGLU (single kernels: WGSL on webgpu, @rmt/kernels on wasm and cpu when compiled)',
  (backend) => {
    it('runs each block and its gradient as one registered kernel where the backend has them', () => {
      for (const kernel of FUSED_KERNELS)
        expect(tf.getKernel(kernel, tf.getBackend()) !== undefined, kernel).toBe(fusedOn(backend));
    });

    it('rmsNorm and its gradients match float64', () => checkRmsNorm([2, 3], 20));

    // On webgpu: rows longer than a workgroup (64) and not a multiple of it, more rows than the dw sum's 16
    // row lanes, columns not a multiple of its 16-column tile.
    it('rmsNorm and its gradients match float64 on rows longer than a workgroup', () => checkRmsNorm([37], 300));

    // On webgpu: one workgroup per row, more than a dispatch dimension holds (65,535): tfjs spreads them.
    it('rmsNorm and its gradients match float64 over more rows than a dispatch dimension', () =>
      checkRmsNorm([70_000], 8, true));

    it('rope and its gradient match float64 (rotate-half, cos and sin shared by the heads)', () =>
      checkRope(2, 3, 4, 8));

    it('rope and its gradient match float64 with more heads and a head size not a power of two', () =>
      checkRope(2, 5, 6, 34));

    it('swiglu and its gradient match float64', () => checkSwiglu(5, 7));

    it('swiglu and its gradient match float64 over more elements than a workgroup, not a multiple', () =>
      checkSwiglu(33, 150));
  },
);

describeEachBackend('attention over a KV cache (one kernel on wasm and cpu for inference)', (backend) => {
  it('matches float64 with and without `inference`, grouped queries and masked keys skipped', async () => {
    const [b, g, r, s, hd, scale] = [2, 3, 2, 7, 20, 0.3];
    const [q, k, v] = [tensor([b, g, r, hd]), tensor([b, g, s, hd]), tensor([b, g, s, hd])];
    // Row 0 of sequence 0 sees only its first 3 keys, sequence 1 is left-padded by 2; the rest see all.
    const biasValues = new Float32Array(b * r * s);
    for (let j = 0; j < s; j++) {
      if (j >= 3) biasValues[j] = -1e30;
      if (j < 2) biasValues[(r + 0) * s + j] = biasValues[(r + 1) * s + j] = -1e30;
    }
    const bias = tf.tensor4d(biasValues, [b, 1, r, s]);
    const [qv, kv, vv] = [await q.data(), await k.data(), await v.data()];
    const want = new Float64Array(b * g * r * hd);
    for (let i = 0; i < b; i++)
      for (let h = 0; h < g; h++)
        for (let row = 0; row < r; row++) {
          const scores = Array.from({ length: s }, (_, j) => {
            let dot = 0;
            for (let d = 0; d < hd; d++)
              dot += qv[((i * g + h) * r + row) * hd + d]! * kv[((i * g + h) * s + j) * hd + d]!;
            return dot * scale + biasValues[(i * r + row) * s + j]!;
          });
          const max = Math.max(...scores);
          const e = scores.map((x) => Math.exp(x - max));
          const sum = e.reduce((x, y) => x + y, 0);
          for (let d = 0; d < hd; d++)
            want[((i * g + h) * r + row) * hd + d] = e.reduce(
              (acc, p, j) => acc + (p / sum) * vv[((i * g + h) * s + j) * hd + d]!,
              0,
            );
        }
    const fused = attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, bias, scale, { inference: true });
    const ops = attention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, bias, scale);
    expect(fused.shape).toEqual([b, g, r, hd]);
    close(await fused.data(), want, 1e-5);
    close(await ops.data(), want, 1e-5);
    expect(tf.getKernel('RmtAttention', tf.getBackend()) !== undefined).toBe(
      (backend === 'wasm' || backend === 'cpu') && loadKernels().available,
    );
    tf.dispose([q, k, v, bias, fused, ops]);
  });
});
