// Batched, KV-cached generation: prefill the (left-padded) prompts once, then one token per step.
// Sampling happens in JS from the downloaded [B, V] logits with a seeded RNG, so a seed gives the same
// tokens on every backend and the RNG state can be checkpointed.
import { drawToken, tf } from '@rmt/backend';
import { createRng, type Rng } from '@rmt/core';
import type { LlamaModel } from './llama.js';

export interface GenerateOptions {
  /** Most tokens to generate, for all rows or per row. */
  maxNewTokens: number | number[];
  /** 0 = greedy; otherwise logits are divided by it before sampling. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 or undefined = all). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 or undefined = all). */
  topP?: number;
  /** Generation of a row ends after it emits one of these (the stop token is included in its tokens). */
  stopTokens?: number[];
  /** Token used to left-pad prompts and to feed rows that have finished. Default 0. */
  padId?: number;
  /** Random source (its state advances); or a seed. Default seed 0. */
  rng?: Rng;
  seed?: number;
  /**
   * One random source per row, instead of `rng`: a row's tokens then depend on its own stream only, so
   * rows can be generated in any grouping (e.g. split over worker threads) with the same result.
   */
  rowRngs?: Rng[];
  /** Left-pad every prompt to at least this many tokens (so that separately generated groups match). */
  width?: number;
}

export type FinishReason = 'stop' | 'length';

export interface Generation {
  /** Generated tokens per row (stop token included when the row stopped). */
  tokens: number[][];
  /** log π(token) of each generated token under the model's own distribution (temperature 1, no filtering). */
  logProbs: number[][];
  finishReasons: FinishReason[];
}

/** Sampling weights of one row, reused across calls (sampling runs once per generated token). */
let scratch = new Float64Array(0);

/** Pick a token from one row of logits; returns the token and its log-probability at temperature 1. */
export function sampleToken(
  row: Float32Array,
  options: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP'>,
  rng: Rng,
): { token: number; logProb: number } {
  const v = row.length;
  const temperature = options.temperature ?? 1;
  const k = options.topK ?? 0;
  const p = options.topP ?? 1;
  const unfiltered = (k <= 0 || k >= v) && p >= 1;
  // Unfiltered (the common case in training): one uniform per draw, taken first, then on the native
  // kernels where they load, else below in JavaScript, in the same way.
  const u = unfiltered && temperature !== 0 ? rng.next() : 0;
  if (unfiltered) {
    const drawn = drawToken(row, temperature, u);
    if (drawn) return drawn;
  }
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < v; i++) {
    if (row[i]! > max) {
      max = row[i]!;
      argmax = i;
    }
  }
  // e^(x − max) kept: at temperature 1 (training's) they are also the weights to draw with, so a draw costs
  // one pass of exp over the vocabulary, not two.
  if (scratch.length < v) scratch = new Float64Array(v);
  let sum = 0;
  for (let i = 0; i < v; i++) sum += scratch[i] = Math.exp(row[i]! - max);
  const logZ = max + Math.log(sum);
  if (temperature === 0 || !Number.isFinite(max)) return { token: argmax, logProb: row[argmax]! - logZ };

  if (unfiltered) {
    // The whole vocabulary in index order (no sort).
    let total = sum;
    if (temperature !== 1) {
      total = 0;
      for (let i = 0; i < v; i++) total += scratch[i] = Math.exp((row[i]! - max) / temperature);
    }
    let r = u * total;
    for (let i = 0; i < v; i++) {
      r -= scratch[i]!;
      if (r < 0) return { token: i, logProb: row[i]! - logZ };
    }
    return { token: argmax, logProb: row[argmax]! - logZ }; // rounding left r ≥ 0: the mode
  }

  // Candidates by descending logit; top-k and top-p cut the tail.
  let order = Array.from({ length: v }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
  if (k > 0 && k < v) order = order.slice(0, k);
  const weights = order.map((i) => Math.exp((row[i]! - max) / temperature));
  let total = weights.reduce((a, b) => a + b, 0);
  if (p < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < weights.length && acc < p * total) acc += weights[keep++]!;
    order = order.slice(0, Math.max(1, keep));
    weights.length = order.length;
    total = weights.reduce((a, b) => a + b, 0);
  }
  let r = rng.next() * total;
  for (let j = 0; j < order.length; j++) {
    r -= weights[j]!;
    if (r < 0) return { token: order[j]!, logProb: row[order[j]!]! - logZ };
  }
  const last = order[order.length - 1]!;
  return { token: last, logProb: row[last]! - logZ };
}

/** Left-pad prompts to one length: ids [B, P] and the pad count of each row. */
export function leftPad(
  prompts: number[][],
  padId: number,
  minWidth = 1,
): { ids: Int32Array; width: number; padLeft: number[] } {
  const width = Math.max(minWidth, ...prompts.map((p) => p.length));
  const ids = new Int32Array(prompts.length * width).fill(padId);
  const padLeft = prompts.map((p, b) => {
    ids.set(p, b * width + width - p.length);
    return width - p.length;
  });
  return { ids, width, padLeft };
}

/**
 * Generate up to `maxNewTokens` per prompt. Asynchronous: each step's logits are read back with
 * `await data()` (a GPU backend cannot read synchronously in Node); the tokens are the same on every backend
 * whose logits are the same.
 */
export async function generate(model: LlamaModel, prompts: number[][], options: GenerateOptions): Promise<Generation> {
  const batch = prompts.length;
  if (batch === 0) return { tokens: [], logProbs: [], finishReasons: [] };
  if (prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  const padId = options.padId ?? 0;
  const limits =
    typeof options.maxNewTokens === 'number'
      ? new Array<number>(batch).fill(options.maxNewTokens)
      : options.maxNewTokens;
  if (limits.length !== batch) throw new Error(`generate: ${limits.length} maxNewTokens for ${batch} prompts`);
  const steps = Math.max(0, ...limits);
  const stops = new Set(options.stopTokens ?? []);
  if (options.rowRngs && options.rowRngs.length !== batch)
    throw new Error(`generate: ${options.rowRngs.length} row RNGs for ${batch} prompts`);
  const rng = options.rowRngs ? undefined : (options.rng ?? createRng(options.seed ?? 0));
  const { ids, width, padLeft } = leftPad(prompts, padId, options.width);
  if (width + steps > model.config.maxSeqLen) {
    throw new Error(
      `generate: prompt of ${width} tokens + ${steps} new tokens exceeds the model's maxSeqLen ${model.config.maxSeqLen}`,
    );
  }

  const tokens: number[][] = prompts.map(() => []);
  const logProbs: number[][] = prompts.map(() => []);
  const finishReasons: (FinishReason | undefined)[] = limits.map((l) => (l <= 0 ? 'length' : undefined));
  if (steps === 0) return { tokens, logProbs, finishReasons: finishReasons as FinishReason[] };

  const input = tf.tensor2d(ids, [batch, width], 'int32');
  // The cache holds every position this call can reach, so decoding writes in place and never grows it.
  let { logits, cache } = model.prefill(input, padLeft, width + steps);
  input.dispose();
  const vocab = model.config.vocabSize;
  try {
    for (let step = 0; ; step++) {
      const all = (await logits.data()) as Float32Array;
      logits.dispose();
      const next = new Int32Array(batch).fill(padId);
      for (let b = 0; b < batch; b++) {
        if (finishReasons[b] !== undefined) continue;
        const { token, logProb } = sampleToken(
          all.subarray(b * vocab, (b + 1) * vocab),
          options,
          options.rowRngs?.[b] ?? rng!,
        );
        tokens[b]!.push(token);
        logProbs[b]!.push(logProb);
        next[b] = token;
        if (stops.has(token)) finishReasons[b] = 'stop';
        else if (tokens[b]!.length >= limits[b]!) finishReasons[b] = 'length';
      }
      if (finishReasons.every((r) => r !== undefined) || step + 1 >= steps) break;
      const nextTensor = tf.tensor1d(next, 'int32');
      ({ logits, cache } = model.decodeStep(nextTensor, cache));
      nextTensor.dispose();
    }
  } finally {
    tf.dispose([...cache.keys, ...cache.values]);
  }
  return { tokens, logProbs, finishReasons: finishReasons.map((r) => r ?? 'length') };
}
