import { expect, it } from 'vitest';
import { readScalar, tf } from '@rmt/backend';
import { describeEachBackend } from '@rmt/testing';
import { LlamaModel, parseLlamaConfig } from './index.js';

describeEachBackend('LlamaModel gradients', () => {
  for (const positionEncoding of ['rope', 'learned'] as const) {
    it(`match central finite differences (${positionEncoding})`, async () => {
      const model = LlamaModel.init(
        parseLlamaConfig({
          dim: 8,
          nLayers: 2,
          nHeads: 2,
          nKvHeads: 1,
          hiddenDim: 12,
          vocabSize: 11,
          maxSeqLen: 8,
          positionEncoding,
        }),
        { seed: 2, std: 0.5 },
      );
      const ids = tf.tensor2d(
        [
          [1, 2, 3, 4, 5],
          [6, 7, 8, 9, 10],
        ],
        undefined,
        'int32',
      );
      const targets = tf.tensor2d(
        [
          [2, 3, 4, 5, 6],
          [7, 8, 9, 10, 1],
        ],
        undefined,
        'int32',
      );
      const mask = tf.ones([2, 5]) as tf.Tensor2D;
      const loss = () => model.nextTokenLoss(ids, targets, mask);
      const { grads } = tf.variableGrads(loss, model.parameters());
      const h = 1e-2;
      let checked = 0;
      for (const p of model.parameters()) {
        const g = await grads[p.name]!.data();
        const values = (await p.data()).slice();
        for (const i of [0, Math.floor(values.length / 2), values.length - 1]) {
          const at = async (delta: number) => {
            const v = values.slice();
            v[i] = values[i]! + delta;
            p.assign(tf.tensor(v, p.shape));
            return readScalar(loss());
          };
          const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
          p.assign(tf.tensor(values, p.shape));
          expect(Math.abs(g[i]! - numeric), `${p.name}[${i}]: ${g[i]} vs ${numeric}`).toBeLessThan(
            2e-3 + 0.02 * Math.abs(numeric),
          );
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
      model.dispose();
    });
  }
});
