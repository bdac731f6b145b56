import { expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import { describeEachBackend } from '@rmt/testing';
import { adamwStep, tf } from './index.js';

/** One step on n values against the float64 update: moments, bias correction, decay, clipping. */
async function checkStep(n: number) {
  const p = Array.from({ length: n }, (_, i) => Math.sin(i) * 0.5);
  const m = Array.from({ length: n }, (_, i) => Math.cos(i) * 0.01);
  const v = Array.from({ length: n }, (_, i) => 1e-4 * (1 + (i % 5)));
  const g = Array.from({ length: n }, (_, i) => (i % 7) - 3 + 0.25);
  const step = {
    lr: 0.01,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    c1: 1 - 0.9 ** 3,
    c2: 1 - 0.999 ** 3,
    decay: 1 - 0.01 * 0.1,
    gradScale: 0.2,
  };
  const tensors = [p, m, v, g].map((a) => tf.tensor2d(a, [1, n]));
  const [p2, m2, v2] = await Promise.all(
    adamwStep(tensors[0]!, tensors[1]!, tensors[2]!, tensors[3]!, step).map((t) => t.data()),
  );
  for (let i = 0; i < n; i++) {
    const gs = g[i]! * step.gradScale;
    const mi = step.beta1 * m[i]! + (1 - step.beta1) * gs;
    const vi = step.beta2 * v[i]! + (1 - step.beta2) * gs * gs;
    const pi = p[i]! * step.decay - (step.lr * (mi / step.c1)) / (Math.sqrt(vi / step.c2) + step.epsilon);
    expect(Math.abs(m2![i]! - mi)).toBeLessThan(1e-7);
    expect(Math.abs(v2![i]! - vi) / vi).toBeLessThan(1e-6);
    expect(Math.abs(p2![i]! - pi)).toBeLessThan(1e-6);
  }
  tf.dispose(tensors);
}

describeEachBackend('adamwStep (one fused kernel: WGSL on webgpu, @rmt/kernels on wasm and cpu)', (backend) => {
  it('runs as one registered kernel where the backend has one', () => {
    const fused = backend === 'webgpu' || ((backend === 'wasm' || backend === 'cpu') && loadKernels().available);
    expect(tf.getKernel('RmtAdamW', tf.getBackend()) !== undefined).toBe(fused);
  });

  // 37: not a multiple of a vector width.
  it('matches the float64 update: moments, bias correction, decay, clipping', () => checkStep(37));

  // On webgpu: many workgroups of 64, the last one partly filled.
  it('matches the float64 update on a larger parameter, not a multiple of the workgroup size', () => checkStep(10_007));

  it('leaves the inputs untouched and returns fresh tensors of the same shape', async () => {
    const p = tf.ones([2, 3]),
      m = tf.zeros([2, 3]),
      v = tf.zeros([2, 3]),
      g = tf.ones([2, 3]);
    const out = adamwStep(p, m, v, g, {
      lr: 1,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 0,
      c1: 0.1,
      c2: 0.001,
      decay: 1,
      gradScale: 1,
    });
    // First step from zero moments: m'/c1 = g and √(v'/c2) = |g|, so p' = p − lr·sign(g) = 0.
    expect(out.map((t) => t.shape)).toEqual([
      [2, 3],
      [2, 3],
      [2, 3],
    ]);
    expect(Array.from(await out[0].data())).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await p.data())).toEqual([1, 1, 1, 1, 1, 1]);
    expect(Array.from(await m.data())).toEqual([0, 0, 0, 0, 0, 0]);
    tf.dispose([p, m, v, g, ...out]);
  });

  it('momentsInPlace: the same update, the moments kept in their own data where the kernel can (wasm, cpu)', async () => {
    const n = 1000;
    const values = (f: (i: number) => number) => tf.tensor1d(Array.from({ length: n }, (_, i) => f(i)));
    const step = {
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      c1: 0.19,
      c2: 0.003,
      decay: 0.999,
      gradScale: 0.5,
    };
    const [p, m, v, g] = [Math.sin, Math.cos, (i: number) => 1e-3 * (1 + (i % 3)), (i: number) => (i % 5) - 2].map(
      (f) => values(f),
    );
    const fresh = await Promise.all(adamwStep(p!, m!, v!, g!, step).map((t) => t.data()));
    const out = adamwStep(p!, m!, v!, g!, step, { momentsInPlace: true });
    expect(await Promise.all(out.map((t) => t.data()))).toEqual(fresh);
    const inPlace = (backend === 'wasm' || backend === 'cpu') && loadKernels().available;
    expect(out[1].dataId === m!.dataId && out[2].dataId === v!.dataId).toBe(inPlace);
    expect(out[0].dataId === p!.dataId).toBe(false);
    // A moment shared with another tensor is never written in place.
    const shared = tf.clone(m!);
    const again = adamwStep(p!, m!, v!, g!, step, { momentsInPlace: true });
    expect(again[1].dataId === m!.dataId).toBe(false);
    tf.dispose([p!, m!, v!, g!, shared, ...out, ...again]);
  });
});
