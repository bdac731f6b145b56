// Next-token pretraining (to make the tiny base model) — and the update step the NTP baseline shares.
import { memoryMetrics, readScalar, tf } from '@rmt/backend';
import { createRng } from '@rmt/core';
import type { LlamaModel } from '@rmt/model';
import { BucketedBatches, type TokenBatch } from './batches.js';
import { AdamW, learningRateAt, type AdamWOptions } from './optimizer.js';

export interface PretrainOptions {
  steps: number;
  batchSize: number;
  lr: number;
  warmup: number;
  decay: 'cosine' | 'linear' | 'constant';
  minLrRatio: number;
  optimizer: AdamWOptions;
  seed: number;
  padId: number;
  /** Called after every step with its metrics. */
  onStep?: (metrics: Record<string, number>) => void;
  /** Called every `snapshotEvery` steps (e.g. to save the model); 0 = never. */
  snapshotEvery?: number;
  onSnapshot?: (step: number) => Promise<void>;
}

/** One teacher-forced step: mean cross-entropy over the batch's real targets, AdamW update (reads with `await`). */
export async function nextTokenStep(
  model: LlamaModel,
  optimizer: AdamW,
  batch: TokenBatch,
  lr: number,
): Promise<{ loss: number; gradNorm: number }> {
  const { value, grads } = tf.tidy(() => {
    const ids = tf.tensor2d(batch.inputs, undefined, 'int32');
    const targets = tf.tensor2d(batch.targets, undefined, 'int32');
    const mask = tf.tensor2d(batch.mask);
    const { value, grads } = tf.variableGrads(() => model.nextTokenLoss(ids, targets, mask), optimizer.params);
    return { value, grads: optimizer.params.map((p) => grads[p.name]!) };
  });
  try {
    const loss = await readScalar(value);
    if (!Number.isFinite(loss)) return { loss, gradNorm: NaN };
    return { loss, gradNorm: await optimizer.apply(grads, lr) };
  } finally {
    tf.dispose(grads);
  }
}

export async function pretrain(
  model: LlamaModel,
  sequences: readonly (readonly number[])[],
  options: PretrainOptions,
): Promise<{ finalLoss: number }> {
  const optimizer = new AdamW(model.parameters(), options.optimizer);
  const batches = new BucketedBatches(sequences, options.batchSize, createRng(`batches:${options.seed}`));
  let finalLoss = NaN;
  try {
    for (let step = 0; step < options.steps; step++) {
      const started = performance.now();
      const lr = learningRateAt(step, options.steps, options.lr, options.warmup, options.decay, options.minLrRatio);
      const batch = batches.batch(options.padId);
      const { loss, gradNorm } = await nextTokenStep(model, optimizer, batch, lr);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        throw new Error(
          `pretrain: loss ${loss}, gradient norm ${gradNorm} at step ${step}: stopping (lower the learning rate?)`,
        );
      }
      finalLoss = loss;
      const seconds = (performance.now() - started) / 1000;
      options.onStep?.({
        step,
        loss,
        lr,
        grad_norm: gradNorm,
        tokens: batch.tokens,
        'timing/step': seconds,
        tokens_per_second: batch.tokens / seconds,
        ...memoryMetrics(),
      });
      if (options.snapshotEvery && (step + 1) % options.snapshotEvery === 0 && step + 1 < options.steps)
        await options.onSnapshot?.(step + 1);
    }
  } finally {
    optimizer.dispose();
  }
  return { finalLoss };
}
