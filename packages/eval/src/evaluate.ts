// Evaluation of next-token reasoning (METHOD.md §6): held-out sites split by the *base* model's top-16
// entropy with nested thresholds (easy > 0.5, medium > 1.0, hard > 1.5, RPT's convention); accuracy per
// split in NTP mode (argmax) and reasoning mode (generate, parse, prefix match); reasoning length.
import { readAllValues, readValues, tf } from '@rmt/backend';
import { prefixMatchReward, siteContext, siteContinuation, type PromptFormat, type Site } from '@rmt/data';
import { generate, type LlamaModel, type Tokenizer } from '@rmt/model';
import { median, wilsonInterval, type Interval } from './stats.js';

export const SPLITS = ['easy', 'medium', 'hard'] as const;
export type Split = (typeof SPLITS)[number];

export interface SplitResult {
  sites: number;
  /** NTP mode: argmax of the plain next-token distribution equals the target. */
  ntpAccuracy: number;
  ntpCi: Interval;
  /** Reasoning mode (when run): prefix-match reward of the parsed prediction. */
  reasoningAccuracy?: number;
  reasoningCi?: Interval;
  meanLength?: number;
  medianLength?: number;
  /** Share of completions without a parsable answer. */
  unparsed?: number;
}

export interface EvalResult {
  splits: Record<Split, SplitResult>;
  /** Unweighted mean of the three splits (METHOD.md §6). */
  average: { ntpAccuracy: number; reasoningAccuracy?: number; meanLength?: number };
  thresholds: [number, number, number];
  sitesTotal: number;
  budget?: number;
  /**
   * Teacher-forced next-token prediction on every token of the held-out windows (not only the sites): what
   * the NTP term keeps or teaches, which site accuracy does not see. Mean NLL in nats and argmax accuracy.
   */
  allTokens?: AllTokens;
}

export interface AllTokens {
  tokens: number;
  nll: number;
  accuracy: number;
}

export interface EvalOptions {
  /** Nested split thresholds on the base model's top-k entropy (METHOD.md §6: 0.5, 1.0, 1.5). */
  thresholds: [number, number, number];
  reasoning: boolean;
  /** Budget told in the prompt (a budget-trained model is evaluated at its final budget). */
  budget?: number;
  maxReasoningTokens: number;
  continuationTokens: number;
  batch: number;
  /** Called after each batch: sites done (the NTP pass, then the reasoning pass) of the total. */
  onProgress?: (done: number, total: number) => void;
}

/** Which nested splits a site with base entropy h belongs to (a hard site is also medium and easy). */
export function splitsOf(h: number, thresholds: readonly [number, number, number]): Split[] {
  return SPLITS.filter((_, i) => h > thresholds[i]!);
}

// Asynchronous: every result is read back with `await` (a GPU backend cannot read synchronously in Node).
export async function evaluate(
  model: LlamaModel,
  tokenizer: Tokenizer,
  format: PromptFormat,
  windows: readonly number[][],
  sites: readonly Site[],
  baseEntropy: readonly number[],
  o: EvalOptions,
): Promise<EvalResult> {
  const inSplit = SPLITS.map((_, i) => sites.map((_, j) => baseEntropy[j]! > o.thresholds[i]!));
  const used = sites.map((_, j) => inSplit.some((m) => m[j]));
  const indices = sites.map((_, j) => j).filter((j) => used[j]);

  const total = indices.length * (o.reasoning ? 2 : 1);
  let done = 0;
  const progress = (n: number) => o.onProgress?.((done += n), total);

  // NTP mode: one forward per batch of contexts, argmax of the last position.
  const ntpCorrect = new Map<number, boolean>();
  for (let at = 0; at < indices.length; at += o.batch) {
    const chunk = indices.slice(at, at + o.batch);
    const contexts = chunk.map((j) => siteContext(windows, sites[j]!));
    const width = Math.max(...contexts.map((c) => c.length));
    const padLeft = contexts.map((c) => width - c.length);
    const rows = contexts.map((c, r) => [...new Array<number>(padLeft[r]!).fill(tokenizer.padId ?? 0), ...c]);
    const argmax = await readValues<'int32'>(
      tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(rows, undefined, 'int32'), padLeft);
        return tf.argMax(model.lastLogProbs(logits), -1);
      }),
    );
    chunk.forEach((j, r) => ntpCorrect.set(j, argmax[r] === sites[j]!.target));
    progress(chunk.length);
  }

  // Reasoning mode: greedy generation (METHOD.md §1), parsed and scored with the prefix-match reward.
  const reasoning = new Map<number, { correct: boolean; length: number; parsed: boolean }>();
  if (o.reasoning) {
    for (let at = 0; at < indices.length; at += o.batch) {
      const chunk = indices.slice(at, at + o.batch);
      const prompts = chunk.map((j) => format.build(siteContext(windows, sites[j]!), o.budget));
      const out = await generate(model, prompts, {
        maxNewTokens: o.maxReasoningTokens + format.answerRoom,
        temperature: 0,
        stopTokens: [...format.stopTokens],
        padId: tokenizer.padId ?? 0,
      });
      chunk.forEach((j, r) => {
        const parsed = format.parse(out.tokens[r]!);
        const cont = siteContinuation(windows, sites[j]!, tokenizer, o.continuationTokens);
        reasoning.set(j, {
          correct: prefixMatchReward(parsed.prediction, cont.bytes, cont.boundaries) === 1,
          length: parsed.reasoningTokens,
          parsed: parsed.prediction !== null,
        });
      });
      progress(chunk.length);
    }
  }

  const allTokens = await allTokenScores(model, tokenizer, windows, o.batch);

  const splits = {} as Record<Split, SplitResult>;
  SPLITS.forEach((name, i) => {
    const members = indices.filter((j) => inSplit[i]![j]);
    const ntpHits = members.filter((j) => ntpCorrect.get(j)).length;
    const result: SplitResult = {
      sites: members.length,
      ntpAccuracy: members.length ? ntpHits / members.length : NaN,
      ntpCi: wilsonInterval(ntpHits, members.length),
    };
    if (o.reasoning) {
      const r = members.map((j) => reasoning.get(j)!);
      const hits = r.filter((x) => x.correct).length;
      Object.assign(result, {
        reasoningAccuracy: members.length ? hits / members.length : NaN,
        reasoningCi: wilsonInterval(hits, members.length),
        meanLength: r.length ? r.reduce((s, x) => s + x.length, 0) / r.length : NaN,
        medianLength: median(r.map((x) => x.length)),
        unparsed: r.length ? r.filter((x) => !x.parsed).length / r.length : NaN,
      });
    }
    splits[name] = result;
  });
  const avg = (f: (s: SplitResult) => number | undefined) => {
    const values = SPLITS.map((n) => f(splits[n])).filter((v): v is number => v !== undefined && Number.isFinite(v));
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
  };
  return {
    splits,
    average: {
      ntpAccuracy: avg((s) => s.ntpAccuracy),
      ...(o.reasoning
        ? { reasoningAccuracy: avg((s) => s.reasoningAccuracy), meanLength: avg((s) => s.meanLength) }
        : {}),
    },
    thresholds: o.thresholds,
    sitesTotal: indices.length,
    ...(o.budget === undefined ? {} : { budget: o.budget }),
    allTokens,
  };
}

/** At most this many logits per forward of the all-token pass (2^26 floats = 256 MB), so a large vocabulary fits. */
const MAX_LOGITS = 1 << 26;

/**
 * Mean next-token NLL and argmax accuracy over every position of `windows` that has a next token (padding
 * excluded): one teacher-forced forward per batch of windows, right-padded (causal, so padding after a
 * token does not change its prediction).
 */
export async function allTokenScores(
  model: LlamaModel,
  tokenizer: Tokenizer,
  windows: readonly number[][],
  batch: number,
): Promise<AllTokens> {
  const pad = tokenizer.padId ?? 0;
  const width = Math.max(0, ...windows.map((w) => w.length));
  const rowsPerBatch = Math.max(
    1,
    Math.min(batch, Math.floor(MAX_LOGITS / Math.max(1, width * model.config.vocabSize))),
  );
  let tokens = 0;
  let nll = 0;
  let hits = 0;
  for (let at = 0; at < windows.length; at += rowsPerBatch) {
    const chunk = windows.slice(at, at + rowsPerBatch).filter((w) => w.length >= 2);
    if (chunk.length === 0) continue;
    const w = Math.max(...chunk.map((x) => x.length));
    const inputs = chunk.map((x) => [...x.slice(0, -1), ...new Array<number>(w - x.length).fill(pad)]);
    const targets = chunk.map((x) => [...x.slice(1), ...new Array<number>(w - x.length).fill(pad)]);
    const [picked, argmax] = (await readAllValues(
      tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(inputs, undefined, 'int32'));
        const logp = tf.logSoftmax(logits, -1);
        const target = tf.oneHot(tf.tensor2d(targets, undefined, 'int32'), model.config.vocabSize);
        return [tf.sum(tf.mul(logp, target), -1), tf.argMax(logits, -1)];
      }),
    )) as [Float32Array, Int32Array];
    chunk.forEach((x, r) => {
      for (let t = 0; t < x.length - 1; t++) {
        tokens++;
        nll -= picked[r * (w - 1) + t]!;
        if (argmax[r * (w - 1) + t] === x[t + 1]) hits++;
      }
    });
  }
  return { tokens, nll: tokens ? nll / tokens : NaN, accuracy: tokens ? hits / tokens : NaN };
}
