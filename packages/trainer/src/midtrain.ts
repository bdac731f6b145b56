// The mid-training loop (METHOD.md §1–5): RMT, RPT and the NTP baseline, with the ablation switches.
// Each step reads top to bottom: sample key sites → prompts with B_t → rollouts → rewards → group
// advantages → dual-loss update → metrics → checkpoint. Every phase is timed (`timing/<phase>`).
import { activeBackend, memoryMetrics } from '@rmt/backend';
import type { BudgetSchedule } from '@rmt/budget';
import { createRng, type Rng, type RngState } from '@rmt/core';
import type { Sampler } from '@rmt/curriculum';
import { siteContext, siteContinuation, type PromptFormat, type Site } from '@rmt/data';
import { groupAdvantages, type GroupAdvantages } from '@rmt/dual-loss';
import type { RolloutEngine } from '@rmt/engine';
import type { LlamaModel, Tokenizer } from '@rmt/model';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { methodSwitches, type MidtrainSettings } from './config.js';
import { AdamW, learningRateAt } from './optimizer.js';
import { ParallelWorkers, workerCount } from './parallel.js';
import { rollout, type RolloutBatch } from './rollout.js';
import { dualUpdate, type NtpWindows, type UpdateResult } from './update.js';

export interface MidtrainInput {
  model: LlamaModel;
  tokenizer: Tokenizer;
  format: PromptFormat;
  windows: number[][];
  sites: Site[];
  /** Sampler of key sites (not used by the NTP baseline). */
  sampler?: Sampler;
  /** Budget schedule B_t (used when the method and `settings.budget.enabled` turn the budget on). */
  budget?: BudgetSchedule;
  /** The parsed mid-training slice (`midtrainConfigSchema`). */
  settings: MidtrainSettings;
  /** Seed of the rollout and window RNGs (the run's seed). */
  seed: number;
  /** Tokens of ground-truth continuation kept for the prefix reward (the data slice's continuationTokens). */
  continuationTokens: number;
  /**
   * A verifiable task's own correctness check (post-training on GSM8K or MATH: is the answer equivalent to the
   * reference?), in place of the prefix match against the site's continuation; 1 = correct, 0 = not.
   */
  verify?: (site: Site, prediction: Uint8Array | null) => number;
  /** Checkpoint folder; also where resume looks for the newest checkpoint. */
  checkpointDir?: string;
  resume?: boolean;
  /** Frozen reference policy of the KL term: required when settings.loss.beta > 0 (RL methods). */
  reference?: LlamaModel;
  /**
   * The inference engine of `settings.rollout.engine: openai` (required there): rollouts are generated on it,
   * and it gets the policy's weights at the start (after a resume: the restored ones) and every
   * `rollout.syncEvery` updates (METHOD.md §7).
   */
  engine?: RolloutEngine;
  onStep?: (metrics: Record<string, number>) => void;
  onRollouts?: (step: number, records: Record<string, unknown>[]) => void;
  /** A warning, with the step it arose at (the runner logs it to warnings.jsonl for the report). */
  onWarning?: (message: string, step: number) => void;
  /** Called when a checkpoint is restored, with the step the loop continues from. */
  onResume?: (step: number) => void | Promise<void>;
  /** Checked after every step: true stops the loop after writing a checkpoint (SIGINT/SIGTERM). */
  shouldStop?: () => boolean;
}

export class TrainingDivergedError extends Error {
  constructor(
    readonly step: number,
    detail: string,
  ) {
    super(
      `training diverged at step ${step}: ${detail}; the last good checkpoint is kept (lower the learning rate, or resume from it)`,
    );
    this.name = 'TrainingDivergedError';
  }
}

/** Every group had equal rewards for warnAfter steps in a row (`midtrain.onNoSignal: stop`); the newest checkpoint is that step's. */
export class NoLearningSignalError extends Error {
  constructor(
    readonly step: number,
    detail: string,
  ) {
    super(detail);
    this.name = 'NoLearningSignalError';
  }
}

interface LoopState {
  rollout: RngState;
  windows: RngState;
  sampler?: unknown;
  budget?: unknown;
}

interface LoopRngs {
  rollout: Rng;
  windows: Rng;
}

/** This step's key sites (their indices in the site list) and the windows trained on. */
interface Picked {
  indices: number[];
  sites: Site[];
  windows: number[];
}

/** A step's rollouts, rewarded, with their group advantages. */
interface Rolled {
  batch: RolloutBatch;
  adv: GroupAdvantages;
}

interface Streaks {
  zeroStd: number;
  /** Steps in a row with frac_reward_zero_std = 1, and their summed accuracy and unparsed ratio (the cause). */
  noSignal: number;
  noSignalAccuracy: number;
  noSignalUnparsed: number;
  clipped: number;
  nonFinite: number;
}

type Timing = Record<string, number>;

/** Run mid-training; returns the number of the last completed step (+1) and whether it stopped early. */
export async function midtrain(input: MidtrainInput): Promise<{ steps: number; stopped: boolean }> {
  const { model, settings: s } = input;
  const sampler = siteSampler(input);
  const { useBudget, useNtp } = methodSwitches(s);
  const optimizer = new AdamW(model.parameters(), s.optimizer);
  const { start, rngs } = await restoreCheckpoint(input, optimizer);
  await input.engine?.pushWeights(model, input.tokenizer, start); // version = updates applied
  const streaks = noStreaks();
  let checkpointSeconds: number | undefined;
  // B_t of the schedule where the budget is in force (METHOD.md §2); a checkpoint of step t records B_t.
  const budgetAt = (t: number) => (sampler && useBudget ? input.budget?.budget(t, s.steps) : undefined);
  const threads = workerCount(s.workers);
  const workers = threads > 0 ? await ParallelWorkers.start(threads, activeBackend()?.name ?? 'cpu') : undefined;
  try {
    for (let step = start; step < s.steps; step++) {
      const timing: Timing = {};
      const budget = budgetAt(step);
      const lr = learningRateAt(step, s.steps, s.lr, s.warmup, s.decay, s.minLrRatio);
      const metrics: Record<string, number> = { step, lr };

      // 1. Key sites for this step (the NTP baseline reads as many random windows instead).
      const picked = timed(timing, 'sample', () => pickSites(input, sampler, step, rngs.windows));
      // 2–4. Prompts with the current budget; G rollouts per site, rewarded; group advantages.
      const rolled = sampler ? await rolloutPhase(input, picked, budget, rngs.rollout, workers, timing) : undefined;
      if (sampler && rolled) Object.assign(metrics, rewardPhase(input, sampler, step, picked, rolled));
      Object.assign(metrics, scheduleMetrics(sampler, step, budget));

      // 5. Dual-loss update: RL on the key sites, NTP on the rest of their windows (m_t = 1[t ∉ C]).
      const ntp = useNtp || !sampler ? ntpWindows(input.windows, picked) : undefined;
      const result = await timedAsync(timing, 'update', () => updatePhase(input, optimizer, rolled, ntp, lr, workers));
      Object.assign(metrics, checkNonFinite(result, step, s, streaks, input.onWarning), updateMetrics(result, ntp));
      await syncEngine(input, step, timing);

      // 6. Log the step, then checkpoint every N steps and at the end (or when asked to stop). In this order
      // a checkpoint of step N exists only once every line before N is logged, so a resume from it (which
      // drops the lines ≥ N a killed run may have left) reads as one run. A checkpoint's write time is
      // therefore reported with the next step (`timing/checkpoint`).
      Object.assign(metrics, stepMetrics(timing, checkpointSeconds));
      checkpointSeconds = undefined;
      input.onStep?.(metrics);
      const stopped = input.shouldStop?.() ?? false;
      const due = (s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0) || step + 1 === s.steps || stopped;
      if (due) checkpointSeconds = await saveLoop(input, step + 1, optimizer, rngs, budgetAt(step + 1));
      const noSignal = watchStreaks(streaks, step, metrics, s.warnAfter, input.onWarning);
      if (noSignal)
        await onNoSignal(input, noSignal, step, () =>
          due ? undefined : saveLoop(input, step + 1, optimizer, rngs, budgetAt(step + 1)),
        );
      if (stopped) return { steps: step + 1, stopped: true };
    }
  } finally {
    optimizer.dispose();
    await workers?.close();
  }
  return { steps: s.steps, stopped: false };
}

/** The runs of steps watched for warnings (zero-signal groups, clipped rollouts, non-finite updates), all at 0. */
function noStreaks(): Streaks {
  return { zeroStd: 0, noSignal: 0, noSignalAccuracy: 0, noSignalUnparsed: 0, clipped: 0, nonFinite: 0 };
}

/** Rewards of a step's rollouts as metrics; the sampler and budget see them; a few go to rollouts.jsonl. */
function rewardPhase(
  input: MidtrainInput,
  sampler: Sampler,
  step: number,
  picked: Picked,
  rolled: Rolled,
): Record<string, number> {
  const rewards = rolloutMetrics(rolled);
  observe(input, sampler, step, picked, rolled, rewards);
  const n = input.settings.sampleRollouts;
  if (input.onRollouts && n > 0) input.onRollouts(step, rolloutRecords(input.tokenizer, step, picked, rolled, n));
  return rewards;
}

/** The dual-loss update of one step (METHOD.md §4); the NTP baseline's loss is L_NTP alone (λ = 1). */
function updatePhase(
  input: MidtrainInput,
  optimizer: AdamW,
  rolled: Rolled | undefined,
  ntp: NtpWindows | undefined,
  lr: number,
  workers: ParallelWorkers | undefined,
): Promise<UpdateResult> {
  const { settings: s, tokenizer } = input;
  const { batch, adv } = rolled ?? {};
  const rl = batch &&
    adv && {
      prompts: batch.prompts,
      completions: batch.completions,
      oldLogProbs: batch.oldLogProbs,
      advantages: adv.advantages,
      weights: batch.tisWeights,
    };
  const loss = rolled ? s.loss : { ...s.loss, lambda: 1 };
  return dualUpdate(input.model, optimizer, rl, ntp, {
    loss,
    padId: tokenizer.padId ?? 0,
    lr,
    microBatchRows: s.microBatchRows,
    reference: input.reference,
    workers,
  });
}

/** Every `rollout.syncEvery` updates, the engine gets the new weights (not after the last: nothing follows). */
async function syncEngine(input: MidtrainInput, step: number, timing: Timing): Promise<void> {
  const { engine, settings: s } = input;
  if (engine && (step + 1) % s.rollout.syncEvery === 0 && step + 1 < s.steps)
    await timedAsync(timing, 'sync', () => engine.pushWeights(input.model, input.tokenizer, step + 1));
}

/**
 * No group had a learning signal for warnAfter steps: stop (the weights are fine, only the signal is missing:
 * they are kept as the newest checkpoint first) or warn and go on, as `midtrain.onNoSignal` says.
 */
async function onNoSignal(
  input: MidtrainInput,
  message: string,
  step: number,
  checkpoint: () => Promise<unknown> | undefined,
): Promise<void> {
  if (input.settings.onNoSignal !== 'stop')
    return input.onWarning?.(`${message} (midtrain.onNoSignal: warn, so the run goes on)`, step);
  await checkpoint();
  throw new NoLearningSignalError(
    step,
    `${message}; the run stopped with a checkpoint of step ${step + 1} (midtrain.onNoSignal: stop; onNoSignal: warn trains on)`,
  );
}

/** The site sampler of an RL method (required), none for the NTP baseline; refuses a KL term without its reference, an engine rollout without its engine. */
function siteSampler({ settings: s, sampler, reference, engine }: MidtrainInput): Sampler | undefined {
  if (s.method === 'ntp') return undefined;
  if (!sampler) throw new Error(`method '${s.method}' needs a site sampler`);
  if (s.rollout.engine === 'openai' && !engine)
    throw new Error('midtrain.rollout.engine is openai: midtrain needs the engine client (input.engine)');
  if (s.loss.beta > 0 && !reference)
    throw new Error(
      `loss.beta ${s.loss.beta} > 0: the KL term needs a reference model (the frozen starting checkpoint), or set beta to 0`,
    );
  return sampler;
}

/** The newest checkpoint's weights, optimizer moments, RNGs, sampler and budget state when resuming; else a fresh start. */
async function restoreCheckpoint(input: MidtrainInput, optimizer: AdamW): Promise<{ start: number; rngs: LoopRngs }> {
  const latest = input.resume && input.checkpointDir ? (await listCheckpoints(input.checkpointDir)).at(-1) : undefined;
  if (!latest)
    return {
      start: 0,
      rngs: { rollout: createRng(`rollout:${input.seed}`), windows: createRng(`windows:${input.seed}`) },
    };
  const saved = await loadCheckpoint(latest.dir);
  const params = saved.model.parameters();
  input.model.parameters().forEach((p, i) => p.assign(params[i]!));
  saved.model.dispose();
  optimizer.restore(saved.optimizerState);
  const loop = saved.state.loop as LoopState;
  if (loop.sampler !== undefined) input.sampler?.restore(loop.sampler);
  if (loop.budget !== undefined) input.budget?.restore?.(loop.budget);
  await input.onResume?.(saved.state.step);
  return { start: saved.state.step, rngs: { rollout: createRng(loop.rollout), windows: createRng(loop.windows) } };
}

/** Write the checkpoint of `step` (when there is a folder); the seconds it took. */
/** Write the checkpoint of `step`, recording the budget B_step the policy is trained to (`rmt eval` defaults to it). */
async function saveLoop(
  input: MidtrainInput,
  step: number,
  optimizer: AdamW,
  rngs: LoopRngs,
  budget: number | undefined,
): Promise<number> {
  const t0 = performance.now();
  if (input.checkpointDir) {
    const { model, tokenizer, settings: s } = input;
    const loop: LoopState = {
      rollout: rngs.rollout.state(),
      windows: rngs.windows.state(),
      sampler: input.sampler?.state(),
      budget: input.budget?.state?.(),
    };
    await saveCheckpoint(
      input.checkpointDir,
      step,
      {
        model,
        tokenizer,
        optimizer,
        state: { kind: 'midtrain', method: s.method, totalSteps: s.steps, budget: budget ?? null, loop },
      },
      s.keepLastN,
    );
  }
  return (performance.now() - t0) / 1000;
}

/** Key sites from the sampler and their windows; without a sampler (NTP baseline), sitesPerStep random windows. */
function pickSites(
  { sites, windows, settings: s }: MidtrainInput,
  sampler: Sampler | undefined,
  step: number,
  windowRng: Rng,
): Picked {
  if (!sampler)
    return {
      indices: [],
      sites: [],
      windows: Array.from({ length: s.sitesPerStep }, () => Math.floor(windowRng.next() * windows.length)),
    };
  const indices = sampler.next(step, s.sitesPerStep);
  const picked = indices.map((i) => sites[i]!);
  return { indices, sites: picked, windows: [...new Set(picked.map((site) => site.window))] };
}

/** Prompts with the budget in force, G rollouts per site (rewarded), and the group advantages. */
async function rolloutPhase(
  input: MidtrainInput,
  picked: Picked,
  budget: number | undefined,
  rng: Rng,
  workers: ParallelWorkers | undefined,
  timing: Timing,
): Promise<Rolled> {
  const { model, format, windows, tokenizer, settings: s } = input;
  const siteInputs = picked.sites.map((site) => ({
    context: siteContext(windows, site),
    continuation: siteContinuation(windows, site, tokenizer, input.continuationTokens),
    verify: input.verify && ((prediction: Uint8Array | null) => input.verify!(site, prediction)),
  }));
  const settings = {
    groupSize: s.groupSize,
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    maxReasoningTokens: s.maxReasoningTokens,
    budget,
    budgetConfig: s.budget,
  };
  const engine = { tis: s.rollout.tis, padId: tokenizer.padId ?? 0, microBatchRows: s.microBatchRows };
  const batch = await timedAsync(timing, 'rollout', () =>
    rollout(model, format, siteInputs, { ...settings, ...engine }, rng, workers, input.engine),
  );
  const adv = timed(timing, 'advantage', () => groupAdvantages(batch.rewards, batch.groupIds, s.loss.delta));
  return { batch, adv };
}

/** TRL-style reward and completion metrics of a step's rollouts. */
function rolloutMetrics({ batch, adv }: Rolled) {
  return {
    reward: mean(batch.rewards),
    reward_std: mean([...adv.groupStd.values()]),
    frac_reward_zero_std: adv.groups === 0 ? 0 : adv.zeroStdGroups / adv.groups,
    accuracy: mean(batch.match),
    'reward/length': mean(batch.lengthRewards),
    'completions/mean_length': mean(batch.reasoningTokens),
    'completions/max_length': Math.max(...batch.reasoningTokens),
    'completions/clipped_ratio': mean(batch.truncated.map(Number)),
    'completions/unparsed_ratio': mean(batch.predictions.map((p) => (p === null ? 1 : 0))),
    ...engineMetrics(batch),
  };
}

/**
 * Engine rollouts: the mean |log π_trainer − log π_engine| over their tokens (the numerics mismatch the
 * importance weights correct), and with tis, the mean and largest weight.
 */
function engineMetrics({ oldLogProbs, engineLogProbs, tisWeights }: RolloutBatch): Record<string, number> {
  if (!engineLogProbs) return {};
  const diffs = oldLogProbs.flatMap((row, r) => row.map((lp, j) => Math.abs(lp - engineLogProbs[r]![j]!)));
  const metrics: Record<string, number> = { 'rollout/logprob_diff': mean(diffs) };
  if (tisWeights) {
    const w = tisWeights.flat();
    Object.assign(metrics, { 'rollout/tis_weight': mean(w), 'rollout/tis_max': w.reduce((m, x) => Math.max(m, x), 0) });
  }
  return metrics;
}

/** Feedback to the samplers that adapt to the policy (each site's mean reward) and to an adaptive budget. */
function observe(
  input: MidtrainInput,
  sampler: Sampler,
  step: number,
  picked: Picked,
  { batch }: Rolled,
  m: ReturnType<typeof rolloutMetrics>,
): void {
  sampler.observe?.(
    step,
    picked.indices.map((index, g) => ({
      index,
      reward: mean(batch.rewards.filter((_, r) => batch.groupIds[r] === g)),
    })),
  );
  input.budget?.observe?.({ step, accuracy: m.accuracy, meanLength: m['completions/mean_length'] });
}

/** The first `n` rollouts of a step as rollouts.jsonl records. */
function rolloutRecords(
  tokenizer: Tokenizer,
  step: number,
  picked: Picked,
  { batch, adv }: Rolled,
  n: number,
): Record<string, unknown>[] {
  return batch.prompts.slice(0, n).map((prompt, r) => {
    const site = picked.sites[batch.groupIds[r]!]!;
    const completion = batch.completions[r]!;
    const prediction = batch.predictions[r];
    return {
      step,
      site: site.window + ':' + site.position,
      prompt: tokenizer.decode(prompt),
      completion: tokenizer.render ? tokenizer.render(completion) : tokenizer.decode(completion),
      reasoning_tokens: batch.reasoningTokens[r],
      prediction: prediction ? Buffer.from(prediction).toString('utf8') : null,
      match: batch.match[r],
      reward: batch.rewards[r],
      advantage: adv.advantages[r],
    };
  });
}

/** The budget in force and the curriculum's tier distribution, when there are. */
function scheduleMetrics(
  sampler: Sampler | undefined,
  step: number,
  budget: number | undefined,
): Record<string, number> {
  const metrics: Record<string, number> = {};
  if (budget !== undefined) metrics.budget = budget;
  const p = sampler?.tierProbabilities?.(step);
  if (p) Object.assign(metrics, { 'curriculum/p_easy': p[0], 'curriculum/p_medium': p[1], 'curriculum/p_hard': p[2] });
  return metrics;
}

/** The NTP term's windows, each without this step's RL sites as targets. */
function ntpWindows(windows: number[][], picked: Picked): NtpWindows {
  const excluded = picked.windows.map((w) =>
    picked.sites.filter((site) => site.window === w).map((site) => site.position),
  );
  return { windows: picked.windows.map((w) => windows[w]!), excluded };
}

/**
 * A non-finite loss or gradient ends the run (TrainingDivergedError) — unless onNonFinite is 'skip' and the
 * optimizer refused the update, up to warnAfter such steps in a row. Returns `{ skipped: 1 }` for a skipped step.
 */
function checkNonFinite(
  result: UpdateResult,
  step: number,
  s: MidtrainSettings,
  streaks: Streaks,
  onWarning?: MidtrainInput['onWarning'],
): Record<string, number> {
  if ([result.lossRl, result.lossNtp, result.gradNorm].every(Number.isFinite)) {
    streaks.nonFinite = 0;
    return {};
  }
  const detail = `loss/rl ${result.lossRl}, loss/ntp ${result.lossNtp}, grad_norm ${result.gradNorm}`;
  // Skipping is only honest when the optimizer refused the update, i.e. the gradient norm is not finite.
  const skippable = s.onNonFinite === 'skip' && !Number.isFinite(result.gradNorm);
  if (!skippable) throw new TrainingDivergedError(step, detail);
  streaks.nonFinite += 1;
  if (streaks.nonFinite >= s.warnAfter)
    throw new TrainingDivergedError(step, `${streaks.nonFinite} steps in a row with non-finite gradients (${detail})`);
  onWarning?.(`step ${step}: non-finite gradients (${detail}); update skipped (midtrain.onNonFinite: skip)`, step);
  return { skipped: 1 };
}

function updateMetrics(result: UpdateResult, ntp: NtpWindows | undefined): Record<string, number> {
  return {
    'loss/rl': result.lossRl,
    'loss/ntp': result.lossNtp,
    kl: result.kl,
    entropy: result.entropy,
    clip_ratio: result.clipFraction,
    grad_norm: result.gradNorm,
    'update/rl_rows': result.rlRows,
    'update/ntp_windows': ntp?.windows.length ?? 0,
  };
}

/** The phase timings (with the previous step's checkpoint write), their sum, and the engine's memory (GPU bytes on webgpu). */
function stepMetrics(timing: Timing, checkpointSeconds: number | undefined): Record<string, number> {
  const phases = checkpointSeconds === undefined ? timing : { ...timing, 'timing/checkpoint': checkpointSeconds };
  return { ...phases, 'timing/step': Object.values(phases).reduce((a, b) => a + b, 0), ...memoryMetrics() };
}

/**
 * Warn once when almost no group has a learning signal, or rollouts hit the cap, for warnAfter steps in a row.
 * When *no* group has one (frac_reward_zero_std = 1) for warnAfter steps, returns the finding — step, cause
 * and fix — for `onNoSignal` to stop or warn with (instead of the ≥ 0.95 warning, which it subsumes).
 */
function watchStreaks(
  streaks: Streaks,
  step: number,
  metrics: Record<string, number>,
  warnAfter: number,
  onWarning?: MidtrainInput['onWarning'],
): string | undefined {
  const zeroStd = metrics.frac_reward_zero_std ?? 0;
  streaks.zeroStd = zeroStd >= 0.95 ? streaks.zeroStd + 1 : 0;
  streaks.clipped = (metrics['completions/clipped_ratio'] ?? 0) >= 0.95 ? streaks.clipped + 1 : 0;
  if (zeroStd === 1) {
    streaks.noSignal += 1;
    streaks.noSignalAccuracy += metrics.accuracy ?? 0;
    streaks.noSignalUnparsed += metrics['completions/unparsed_ratio'] ?? 0;
  } else Object.assign(streaks, { noSignal: 0, noSignalAccuracy: 0, noSignalUnparsed: 0 });
  const noSignal =
    streaks.noSignal === warnAfter
      ? noSignalFinding(step, warnAfter, streaks.noSignalAccuracy / warnAfter, streaks.noSignalUnparsed / warnAfter)
      : undefined;
  if (streaks.zeroStd === warnAfter && !noSignal)
    onWarning?.(
      `frac_reward_zero_std ≥ 0.95 for ${warnAfter} steps: almost no group has a learning signal (all rollouts equally right or wrong); sites may be too easy or too hard`,
      step,
    );
  if (streaks.clipped === warnAfter)
    onWarning?.(
      `completions/clipped_ratio ≥ 0.95 for ${warnAfter} steps: rollouts hit the length cap; raise the budget or the cap`,
      step,
    );
  return noSignal;
}

/** Step, cause and fix of a no-signal streak, from the streak's mean accuracy and unparsed ratio. */
function noSignalFinding(step: number, steps: number, accuracy: number, unparsed: number): string {
  const head = `step ${step}: frac_reward_zero_std = 1 for ${steps} steps in a row: no group has a learning signal (all rollouts of each group got the same reward), so the RL term is 0`;
  if (unparsed === 1) {
    return `${head}. Cause: no rollout gave a parsable answer (completions/unparsed_ratio = 1), the model does not follow data.format. Fix: an instruction-tuned model with a chat template for llm-text, data.format: control-tokens for a model trained from scratch with its tokens, or a larger reasoning cap (midtrain.maxReasoningTokens, midtrain.budget.initial)`;
  }
  if (accuracy === 0)
    return `${head}. Cause: every rollout is wrong; the sites are too hard for the policy. Fix: easier sites (midtrain.curriculum.tiers / options), more rollouts per site (midtrain.groupSize), or a higher midtrain.temperature`;
  if (accuracy === 1)
    return `${head}. Cause: every rollout is right; the sites are too easy, or the policy has converged. Fix: harder sites (midtrain.curriculum), or fewer midtrain.steps`;
  return `${head}. Cause: the rollouts of each site all agree (sampling too deterministic for this group size). Fix: a higher midtrain.temperature, a larger midtrain.groupSize, or the budget's length reward (midtrain.budget.enabled)`;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function timed<T>(timing: Timing, phase: string, f: () => T): T {
  const t0 = performance.now();
  const out = f();
  timing[`timing/${phase}`] = (performance.now() - t0) / 1000;
  return out;
}

async function timedAsync<T>(timing: Timing, phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  timing[`timing/${phase}`] = (performance.now() - t0) / 1000;
  return out;
}
