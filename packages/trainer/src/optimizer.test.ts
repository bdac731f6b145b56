// AdamW's global gradient norm over as many tensors as a model has (a 1-layer model has 12, the embedded
// base 40), on every backend, against float64. tfjs-webgpu's AddN fails beyond 7 inputs (WebGPU's 8 storage
// buffers per shader stage) and left the norm unwritten: webgpu runs clipped by a wrong scale.
import { expect, it } from 'vitest';
import { tf } from '@rmt/backend';
import { describeEachBackend } from '@rmt/testing';
import { AdamW } from './index.js';

describeEachBackend('AdamW gradient norm', () => {
  it('over 28 tensors equals the float64 norm, and clips the update to maxGradNorm', async () => {
    let seed = 11;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
    const shapes = Array.from({ length: 28 }, (_, i) => (i % 3 === 0 ? [7] : [3, 1 + (i % 5)]));
    const params = shapes.map((s) => tf.variable(tf.zeros(s)));
    const grads = shapes.map((s) => Float32Array.from({ length: tf.util.sizeFromShape(s) }, rand));
    const expected = Math.sqrt(grads.reduce((sum, g) => sum + g.reduce((a, x) => a + x * x, 0), 0));
    const opt = new AdamW(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    const gradTensors = grads.map((g, i) => tf.tensor(g, shapes[i]));
    const norm = await opt.apply(gradTensors, 0.1);
    expect(norm).toBeGreaterThan(1); // so clipping applies
    expect(Math.abs(norm - expected) / expected).toBeLessThan(1e-6);
    // First step: m̂ = g·scale, v̂ = (g·scale)², so each parameter moves by −lr·sign(g) unless |g·scale| ≲ ε;
    // the clipped scale shows in the second moment, read back through the state.
    const state = await opt.state();
    const scale = 1 / expected;
    grads.forEach((g, i) =>
      g.forEach((x, j) => expect(Math.abs(state.v[i]![j]! - 0.001 * (x * scale) ** 2)).toBeLessThan(1e-9)),
    );
    tf.dispose([...gradTensors, ...params]);
    opt.dispose();
  });
});
