import { describe, expect, it } from 'vitest';
import { loadKernels } from '@rmt/kernels';
import {
  autoOrder,
  estimateTrainingBytes,
  loadBackend,
  parameterCountOf,
  WorkloadTooLargeError,
  type ModelShape,
} from './index.js';

describe('estimateTrainingBytes', () => {
  it('matches a hand computation, part by part', () => {
    // d 8, 1 layer, 2 query heads of 4, 1 KV head, SwiGLU 16, vocab 10, tied; 2 rows of 3 tokens.
    const tiny: ModelShape = { dim: 8, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 16, vocabSize: 10 };
    // Parameters: embedding 10·8 = 80; layer: norms 2·8 + qkv 8·(2+2)·4 = 128 + wo 8·8 = 64 + MLP 3·8·16 = 384
    // → 592; final norm 8. Total 680.
    const m = estimateTrainingBytes(tiny, 2, 3);
    expect(m.parameters).toBe(680);
    expect([m.weights, m.adamMoments, m.gradients]).toEqual([4 * 680, 8 * 680, 4 * 680]);
    // Activations: 6 tokens × (8·8 + 2·16 + 4·8 + 2·4 + 3·16 = 184) = 1104 floats, plus scores 4·2·2·3·3 = 144,
    // × 4 bytes × 1.6 (margin) = 7987.2; head 9·6·10·4 = 2160 + two embedding gradients 2·10·8·4 = 640.
    expect(m.activations).toBe(Math.round(7987.2 + 2160 + 640));
    expect(m.total).toBe(2720 + 5440 + 2720 + 10787);
  });

  const smol: ModelShape = { dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, hiddenDim: 1536, vocabSize: 49152 };

  it("counts SmolLM2-135M's 134,515,008 parameters, and more than the wasm heap for AdamW at 4 × 128", () => {
    expect(parameterCountOf(smol)).toBe(134_515_008);
    const m = estimateTrainingBytes(smol, 4, 128);
    expect(m.weights + m.adamMoments + m.gradients).toBe(16 * 134_515_008); // 2.15 GB before any activation
    expect(m.total).toBeGreaterThan(4 * 2 ** 30);
    // Untied heads, learned positions and biases add their parameters.
    expect(
      parameterCountOf({ ...smol, tieEmbeddings: false, positionEncoding: 'learned', maxSeqLen: 100, qkvBias: true }),
    ).toBe(134_515_008 + 49152 * 576 + 100 * 576 + 30 * 960);
  });

  it('auto leaves wasm out for a run its heap cannot hold, and wasm asked for by name refuses with the sizes', async () => {
    const workload = { model: smol, batch: 4, seqLen: 128 };
    expect(autoOrder(workload)).not.toContain('wasm');
    expect(autoOrder({ ...workload, model: { ...smol, nLayers: 2, vocabSize: 512 } })).toContain('wasm');
    expect(autoOrder(workload).includes('cpu')).toBe(loadKernels().available);
    await expect(loadBackend('wasm', { workload })).rejects.toThrow(WorkloadTooLargeError);
    await expect(loadBackend('wasm', { workload })).rejects.toThrow(
      /needs ~[\d.]+ GiB \(134\.5M parameters: weights 513 MiB, AdamW moments 1\.00 GiB.*more than the WebAssembly heap holds/,
    );
    // More than the machine has: refused by every backend, before anything is allocated.
    await expect(loadBackend('auto', { workload: { ...workload, batch: 100_000 } })).rejects.toThrow(
      /this machine has .* in all/,
    );
  });
});
