import { entropy, readArray, tf, tokenLogProbs } from '@rmt/backend';
import type { LlamaModel } from './llama.js';

export interface TextScore {
  /** Number of predicted positions. */
  tokens: number;
  /** Share of positions where the argmax token is the true next token. */
  top1: number;
  /** Mean negative log-likelihood, nats. */
  loss: number;
  /** Mean entropy of the next-token distribution (full vocabulary), nats. */
  entropy: number;
}

/**
 * Teacher-forced next-token statistics of a token stream, in consecutive windows of at most the model's
 * context (each window predicts its positions 1…L−1 from its own prefix), `batch` windows per forward.
 * Asynchronous: the statistics are read back with `await` (a GPU backend cannot read synchronously in Node).
 */
export async function scoreTokens(
  model: LlamaModel,
  ids: readonly number[],
  options: { window?: number; batch?: number } = {},
): Promise<TextScore> {
  const window = Math.min(options.window ?? model.config.maxSeqLen, model.config.maxSeqLen);
  if (window < 2) throw new Error('scoreTokens: window must be at least 2 tokens');
  const batchSize = options.batch ?? 8;
  const windows: number[][] = [];
  for (let at = 0; at + 1 < ids.length; at += window - 1) windows.push(ids.slice(at, at + window));
  let tokens = 0;
  let correct = 0;
  let nll = 0;
  let ent = 0;
  for (let i = 0; i < windows.length; i += batchSize) {
    const group = windows.slice(i, i + batchSize);
    // Right-pad with the last token; padded positions are excluded below (causal: they cannot affect the rest).
    const width = Math.max(...group.map((w) => w.length));
    const inputs = group.map((w) => [...w.slice(0, -1), ...new Array(width - w.length).fill(w.at(-1))]);
    const targets = group.map((w) => [...w.slice(1), ...new Array(width - w.length).fill(w.at(-1))]);
    const tensors = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(inputs, undefined, 'int32'));
      const t = tf.tensor2d(targets, undefined, 'int32');
      return [tokenLogProbs(logits, t), tf.argMax(logits, -1), entropy(logits)];
    });
    const [lp, am, h] = (await Promise.all(tensors.map((x) => readArray<number[][]>(x)))) as [
      number[][],
      number[][],
      number[][],
    ];
    group.forEach((w, b) => {
      for (let t = 0; t < w.length - 1; t++) {
        tokens++;
        nll -= lp[b]![t]!;
        ent += h[b]![t]!;
        if (am[b]![t] === targets[b]![t]) correct++;
      }
    });
  }
  return tokens === 0
    ? { tokens: 0, top1: 0, loss: 0, entropy: 0 }
    : { tokens, top1: correct / tokens, loss: nll / tokens, entropy: ent / tokens };
}
