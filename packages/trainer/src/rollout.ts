// Rollouts of next-token reasoning (METHOD.md §1–2): prompts with the current budget, G samples per site
// (KV-cached, batched, seeded), parsed and rewarded. The samples come from the policy in process, or from
// an inference engine (METHOD.md §7): then the trainer recomputes their log-probs itself (one forward on
// prompt + completion), because the engine's numerics differ from the trainer's; the engine's own log-probs
// are kept beside them for the logprob_diff metric and the truncated importance-sampling weights.
import { readArray, tf, tokenLogProbs } from '@rmt/backend';
import { combineRewards, lengthReward, type BudgetConfig } from '@rmt/budget';
import { prefixMatchReward, type PromptFormat, type SiteContinuation } from '@rmt/data';
import { createRng, type Rng } from '@rmt/core';
import type { RolloutEngine, TisConfig } from '@rmt/engine';
import { generate, leftPad, type GenerateOptions, type Generation, type LlamaModel } from '@rmt/model';
import type { MidtrainConfig } from './config.js';
import type { ParallelWorkers } from './parallel.js';

/** One rollout batch; row r belongs to group groupIds[r] (a site), G rows per group. */
export interface RolloutBatch {
  prompts: number[][]; // [R][prompt length]
  completions: number[][]; // [R][≤ cap] generated tokens, stop token included
  oldLogProbs: number[][]; // [R][completion length] log π_old of each generated token
  groupIds: number[]; // [R] index of the site in this step's list
  reasoningTokens: number[]; // [R]
  predictions: (Uint8Array | null)[]; // [R]
  match: number[]; // [R] prefix-match reward, 0/1
  lengthRewards: number[]; // [R] 0 when the budget is off
  rewards: number[]; // [R] (1 − w)·match + w·length, or match alone
  truncated: boolean[]; // [R] generation hit the cap (finish reason 'length')
  engineLogProbs?: number[][]; // [R][completion length] the engine's log π of each token (engine rollouts only)
  tisWeights?: number[][]; // [R][completion length] min(π_old/π_engine, C) (engine rollouts with tis.enabled)
}

/** The rollout fields of the mid-training slice (topK 0 and topP 1 are off), and the budget in force. */
export type RolloutSettings = Pick<
  MidtrainConfig,
  'groupSize' | 'temperature' | 'topK' | 'topP' | 'maxReasoningTokens'
> & {
  /** Budget in force (undefined: no budget in the prompt and no length reward; the reasoning cap is maxReasoningTokens). */
  budget?: number;
  budgetConfig: BudgetConfig;
  /** Engine rollouts: the truncated importance-sampling correction (midtrain.rollout.tis). */
  tis?: TisConfig;
  /** Engine rollouts: pad id and rows per forward of the log-prob recomputation (default 0 and 64). */
  padId?: number;
  microBatchRows?: number;
};

/**
 * Generate rows for training: each row samples from its own RNG, seeded from one draw of `rng`, and all rows
 * are padded to one width — so with `workers` the rows are split into contiguous groups, one per thread, and
 * the generation is the same as on one thread.
 */
export async function generateRows(
  model: LlamaModel,
  prompts: number[][],
  options: Omit<GenerateOptions, 'rng' | 'rowRngs' | 'seed' | 'width'>,
  rng: Rng,
  workers?: ParallelWorkers,
): Promise<Generation> {
  const padded = { ...options, width: Math.max(1, ...prompts.map((p) => p.length)) };
  const base = Math.floor(rng.next() * 2 ** 32);
  const rowSeeds = prompts.map((_, r) => `rollout:${base}:${r}`);
  // Contiguous groups of near-equal size (some empty when rows are fewer than threads), the first for this thread.
  const threads = (workers?.size ?? 0) + 1;
  const bounds = Array.from({ length: threads + 1 }, (_, t) => Math.round((t * prompts.length) / threads));
  const group = (t: number) => ({
    prompts: prompts.slice(bounds[t], bounds[t + 1]),
    rowSeeds: rowSeeds.slice(bounds[t], bounds[t + 1]),
  });
  const remote = workers
    ? workers.generate(
        model,
        Array.from({ length: workers.size }, (_, w) => group(w + 1)),
        padded,
      )
    : undefined;
  const local = group(0);
  let own: Generation;
  try {
    own = await generate(model, local.prompts, { ...padded, rowRngs: local.rowSeeds.map((seed) => createRng(seed)) });
  } catch (error) {
    await remote?.catch(() => undefined); // let the workers finish, and leave no rejection unhandled
    throw error;
  }
  const parts = [own, ...((await remote) ?? [])];
  return {
    tokens: parts.flatMap((p) => p.tokens),
    logProbs: parts.flatMap((p) => p.logProbs),
    finishReasons: parts.flatMap((p) => p.finishReasons),
  };
}

/**
 * log π of each completion token under `model`, from one teacher-forced forward over prompt + completion
 * (laid out as the update lays out its rows: left-padded prompts, completions right-padded), in blocks of
 * `blockRows` rows.
 */
export async function completionLogProbs(
  model: LlamaModel,
  prompts: number[][],
  completions: number[][],
  padId: number,
  blockRows: number,
): Promise<number[][]> {
  const out: number[][] = [];
  for (let at = 0; at < prompts.length; at += blockRows) {
    const ps = prompts.slice(at, at + blockRows);
    const cs = completions.slice(at, at + blockRows);
    const { width: P, padLeft } = leftPad(ps, padId);
    const C = Math.max(1, ...cs.map((c) => c.length));
    const full = ps.map((p, r) => [
      ...new Array<number>(padLeft[r]!).fill(padId),
      ...p,
      ...cs[r]!,
      ...new Array<number>(C - cs[r]!.length).fill(padId),
    ]);
    const lp = await readArray<number[][]>(
      tf.tidy(() => {
        const ids = tf.tensor2d(
          full.map((f) => f.slice(0, -1)),
          undefined,
          'int32',
        );
        const targets = tf.tensor2d(
          full.map((f) => f.slice(1)),
          undefined,
          'int32',
        );
        return tokenLogProbs(model.forward(ids, padLeft), targets);
      }),
    );
    // Completion token j is predicted at input position P − 1 + j.
    cs.forEach((c, r) => out.push(c.map((_, j) => lp[r]![P - 1 + j]!)));
  }
  return out;
}

/**
 * G samples per site from the engine (one request per site, n = G), with the trainer's own log-probs and,
 * when enabled, the truncated importance-sampling weights min(exp(log π_old − log π_engine), C).
 */
async function engineRows(
  model: LlamaModel,
  engine: RolloutEngine,
  sitePrompts: number[][],
  options: Omit<GenerateOptions, 'rng' | 'rowRngs' | 'seed' | 'width'>,
  settings: RolloutSettings,
  rng: Rng,
): Promise<Generation & { engineLogProbs: number[][]; tisWeights?: number[][] }> {
  const out = await engine.complete(sitePrompts, {
    n: settings.groupSize,
    maxTokens: options.maxNewTokens as number,
    temperature: options.temperature ?? 1,
    topK: options.topK,
    topP: options.topP,
    stopTokenIds: options.stopTokens ?? [],
    // One draw, as for local rollouts, so the RNG (and a resume) advances alike.
    seed: Math.floor(rng.next() * 2 ** 31),
    vocabSize: model.config.vocabSize,
  });
  const prompts = sitePrompts.flatMap((p) => new Array<number[]>(settings.groupSize).fill(p));
  const logProbs = await completionLogProbs(
    model,
    prompts,
    out.tokens,
    settings.padId ?? 0,
    settings.microBatchRows ?? 64,
  );
  const cap = settings.tis?.enabled ? settings.tis.cap : undefined;
  const tisWeights =
    cap === undefined
      ? undefined
      : logProbs.map((row, r) => row.map((lp, j) => Math.min(Math.exp(lp - out.logProbs[r]![j]!), cap)));
  return { tokens: out.tokens, logProbs, finishReasons: out.finishReasons, engineLogProbs: out.logProbs, tisWeights };
}

/** Generate (see generateRows; or on `engine`, see engineRows), parse and reward G rollouts per site. */
export async function rollout(
  model: LlamaModel,
  format: PromptFormat,
  sites: readonly {
    context: number[];
    continuation: SiteContinuation;
    verify?: (prediction: Uint8Array | null) => number;
  }[],
  settings: RolloutSettings,
  rng: Rng,
  workers?: ParallelWorkers,
  engine?: RolloutEngine,
): Promise<RolloutBatch> {
  const { budget, budgetConfig: b } = settings;
  // Generation is hard-capped at capMultiplier·B_t + room for the answer (METHOD.md §2).
  const reasoningCap =
    budget === undefined ? settings.maxReasoningTokens : Math.max(1, Math.ceil(b.capMultiplier * budget));
  const prompts: number[][] = [];
  const groupIds: number[] = [];
  sites.forEach((site, g) => {
    const prompt = format.build(site.context, budget);
    for (let i = 0; i < settings.groupSize; i++) {
      prompts.push(prompt);
      groupIds.push(g);
    }
  });
  const options = {
    maxNewTokens: reasoningCap + format.answerRoom,
    temperature: settings.temperature,
    topK: settings.topK || undefined,
    topP: settings.topP < 1 ? settings.topP : undefined,
    stopTokens: [...format.stopTokens],
  };
  const sitePrompts = prompts.filter((_, r) => r % settings.groupSize === 0);
  const out: Generation & { engineLogProbs?: number[][]; tisWeights?: number[][] } = engine
    ? await engineRows(model, engine, sitePrompts, options, settings, rng)
    : await generateRows(model, prompts, options, rng, workers);
  const batch: RolloutBatch = {
    prompts,
    completions: out.tokens,
    oldLogProbs: out.logProbs,
    groupIds,
    reasoningTokens: [],
    predictions: [],
    match: [],
    lengthRewards: [],
    rewards: [],
    truncated: out.finishReasons.map((r) => r === 'length'),
    ...(out.engineLogProbs && { engineLogProbs: out.engineLogProbs }),
    ...(out.tisWeights && { tisWeights: out.tisWeights }),
  };
  out.tokens.forEach((completion, r) => {
    const parsed = format.parse(completion);
    const site = sites[groupIds[r]!]!;
    // The prefix match of METHOD.md §1, or a verifiable task's own check of the answer (post-training).
    const match = site.verify
      ? site.verify(parsed.prediction)
      : prefixMatchReward(parsed.prediction, site.continuation.bytes, site.continuation.boundaries);
    const len = budget === undefined ? 0 : lengthReward(b.lengthReward, parsed.reasoningTokens, budget, b.rMax);
    batch.reasoningTokens.push(parsed.reasoningTokens);
    batch.predictions.push(parsed.prediction);
    batch.match.push(match);
    batch.lengthRewards.push(len);
    batch.rewards.push(
      budget === undefined ? match : combineRewards(match, len, b.weight, b.lengthRewardOnlyWhenCorrect),
    );
  });
  return batch;
}
