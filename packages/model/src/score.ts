import { createHash } from 'node:crypto';
import { entropy, readArray, tf, tokenLogProbs, topKEntropy } from '@rmt/backend';
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

/** Entropy of the next-token distribution at every position of each row: full vocabulary and top-k, nats. */
export interface PositionEntropies {
  full: number[][];
  topK: number[][];
}

/**
 * The scorer side of the curriculum's difficulty (METHOD.md §3): one forward over right-padded rows (right
 * padding cannot change earlier positions under causal attention), then the full and the top-k entropy of
 * every position, read back with `await`.
 */
export async function positionEntropies(
  model: LlamaModel,
  rows: readonly number[][],
  k: number,
): Promise<PositionEntropies> {
  const width = Math.max(...rows.map((r) => r.length));
  const padded = rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
  const tensors = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(padded, undefined, 'int32'));
    return [entropy(logits), topKEntropy(logits, k)];
  });
  // readArray disposes each tensor once read.
  const [full, topK] = (await Promise.all(tensors.map((t) => readArray<number[][]>(t)))) as [number[][], number[][]];
  return { full, topK };
}

/**
 * A model's identity for caches: sha256 of its architecture and every weight (not its path: a model copied
 * elsewhere keeps its scores, one retrained in place does not). Reads every weight once.
 */
export async function modelWeightsHash(model: LlamaModel): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(model.config));
  const values = (await Promise.all(model.parameters().map((p) => p.data()))) as Float32Array[];
  for (const v of values) hash.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  return hash.digest('hex');
}
