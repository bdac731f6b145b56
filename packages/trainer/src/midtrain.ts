// The mid-training loop (METHOD.md §1–5): RMT, RPT and the NTP baseline, with the ablation switches.
// Each step reads top to bottom: sample key sites → prompts with B_t → rollouts → rewards → group
// advantages → dual-loss update → metrics → checkpoint. Every phase is timed (`timing/<phase>`).
import { activeBackend, tf } from '@rmt/backend';
import type { BudgetConfig, BudgetSchedule } from '@rmt/budget';
import type { Sampler } from '@rmt/curriculum';
import { siteContext, siteContinuation, type PromptFormat, type Site } from '@rmt/data';
import { groupAdvantages, type DualLossConfig } from '@rmt/dual-loss';
import { createRng, type RngState } from '@rmt/core';
import type { LlamaModel, Tokenizer } from '@rmt/model';
import { listCheckpoints, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { AdamW, learningRateAt, type AdamWOptions } from './optimizer.js';
import { rollout, type RolloutBatch } from './rollout.js';
import { dualUpdate } from './update.js';
import { ParallelWorkers } from './parallel.js';

export type Method = 'rmt' | 'rpt' | 'ntp';

export interface MidtrainSettings {
  method: Method;
  steps: number;
  /** Key sites per step (each gets G rollouts); the NTP baseline reads as many windows per step. */
  sitesPerStep: number;
  groupSize: number;
  temperature: number;
  topK?: number;
  topP?: number;
  /** Reasoning cap when no budget is in force. */
  maxReasoningTokens: number;
  continuationTokens: number;
  /** Ablation switches (METHOD.md §5): the dynamic budget and the NTP term. (The curriculum is the sampler.) */
  useBudget: boolean;
  useNtp: boolean;
  lr: number;
  warmup: number;
  decay: 'cosine' | 'linear' | 'constant';
  minLrRatio: number;
  optimizer: AdamWOptions;
  loss: DualLossConfig;
  microBatchRows: number;
  seed: number;
  checkpointEvery: number;
  keepLastN: number;
  /** Warn when frac_reward_zero_std or completions/clipped_ratio stays ≥ 0.95 for this many steps. */
  warnAfter: number;
  /** Save this many rollouts per step to rollouts.jsonl (the first sites). */
  sampleRollouts: number;
  /**
   * A step whose gradients are NaN/Inf: 'stop' (default) ends the run with the last good checkpoint; 'skip'
   * drops that update (AdamW never applies a non-finite gradient) and goes on, stopping only after
   * `warnAfter` such steps in a row. Absent = 'stop'.
   */
  onNonFinite?: 'stop' | 'skip';
  /**
   * Worker threads that take a share of each step's rollouts and update (data parallelism for the
   * single-threaded wasm and cpu backends; the results do not depend on the number). Absent or 0 = none.
   */
  workers?: number;
}

export interface MidtrainInput {
  model: LlamaModel;
  tokenizer: Tokenizer;
  format: PromptFormat;
  windows: number[][];
  sites: Site[];
  /** Sampler of key sites (not used by the NTP baseline). */
  sampler?: Sampler;
  budget?: BudgetSchedule;
  budgetConfig: BudgetConfig;
  settings: MidtrainSettings;
  /** Checkpoint folder; also where resume looks for the newest checkpoint. */
  checkpointDir?: string;
  resume?: boolean;
  reference?: LlamaModel;
  onStep?: (metrics: Record<string, number>) => void;
  onRollouts?: (step: number, records: Record<string, unknown>[]) => void;
  onWarning?: (message: string) => void;
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
    super(`training diverged at step ${step}: ${detail}; the last good checkpoint is kept (lower the learning rate, or resume from it)`);
    this.name = 'TrainingDivergedError';
  }
}

interface LoopState {
  rollout: RngState;
  windows: RngState;
  sampler?: unknown;
  budget?: unknown;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Run mid-training; returns the number of the last completed step (+1) and whether it stopped early. */
export async function midtrain(input: MidtrainInput): Promise<{ steps: number; stopped: boolean }> {
  const { model, tokenizer, format, windows, sites, settings: s } = input;
  const rl = s.method !== 'ntp';
  if (rl && !input.sampler) throw new Error(`method '${s.method}' needs a site sampler`);
  const padId = tokenizer.padId ?? 0;
  const optimizer = new AdamW(model.parameters(), s.optimizer);
  let rolloutRng = createRng(`rollout:${s.seed}`);
  let windowRng = createRng(`windows:${s.seed}`);
  let start = 0;

  if (input.resume && input.checkpointDir) {
    const latest = (await listCheckpoints(input.checkpointDir)).at(-1);
    if (latest) {
      const saved = await loadCheckpoint(latest.dir);
      model.parameters().forEach((p, i) => p.assign(saved.model.parameters()[i]!));
      saved.model.dispose();
      optimizer.restore(saved.optimizerState);
      const loop = saved.state.loop as LoopState;
      rolloutRng = createRng(loop.rollout);
      windowRng = createRng(loop.windows);
      if (loop.sampler !== undefined) input.sampler?.restore(loop.sampler);
      if (loop.budget !== undefined) input.budget?.restore?.(loop.budget);
      start = saved.state.step;
      await input.onResume?.(start);
    }
  }

  const checkpoint = async (step: number) => {
    if (!input.checkpointDir) return;
    const loop: LoopState = { rollout: rolloutRng.state(), windows: windowRng.state(), sampler: input.sampler?.state(), budget: input.budget?.state?.() };
    await saveCheckpoint(input.checkpointDir, step, { model, tokenizer, optimizer, state: { kind: 'midtrain', method: s.method, totalSteps: s.steps, loop } }, s.keepLastN);
  };

  const streaks = { zeroStd: 0, clipped: 0, nonFinite: 0 };
  let stopped = false;
  let checkpointSeconds: number | undefined;
  const workers = s.workers ? await ParallelWorkers.start(s.workers, activeBackend()?.name ?? 'cpu') : undefined;
  try {
    for (let step = start; step < s.steps; step++) {
      const timing: Record<string, number> = {};
      const timed = <T>(phase: string, f: () => T): T => {
        const t0 = performance.now();
        const out = f();
        timing[`timing/${phase}`] = (performance.now() - t0) / 1000;
        return out;
      };
      const budget = rl && s.useBudget && input.budget ? input.budget.budget(step, s.steps) : undefined;
      const lr = learningRateAt(step, s.steps, s.lr, s.warmup, s.decay, s.minLrRatio);
      const metrics: Record<string, number> = { step, lr };

      // 1. Key sites for this step (the NTP baseline reads as many random windows instead).
      const pickedIndices = timed('sample', () => (rl ? input.sampler!.next(step, s.sitesPerStep) : []));
      const picked = pickedIndices.map((i) => sites[i]!);
      const trainWindows = rl ? [...new Set(picked.map((site) => site.window))] : Array.from({ length: s.sitesPerStep }, () => Math.floor(windowRng.next() * windows.length));

      let batch: RolloutBatch | undefined;
      let advantages: number[] = [];
      if (rl) {
        // 2–3. Prompts with the current budget; G rollouts per site, rewarded.
        const siteInputs = picked.map((site) => ({ context: siteContext(windows, site), continuation: siteContinuation(windows, site, tokenizer, s.continuationTokens) }));
        batch = await timedAsync(timing, 'rollout', () =>
          rollout(model, format, siteInputs, { groupSize: s.groupSize, temperature: s.temperature, topK: s.topK, topP: s.topP, maxReasoningTokens: s.maxReasoningTokens, budget, budgetConfig: input.budgetConfig }, rolloutRng, workers),
        );
        // 4. Group advantages.
        const adv = timed('advantage', () => groupAdvantages(batch!.rewards, batch!.groupIds, s.loss.delta));
        advantages = adv.advantages;
        const groupMeans = picked.map((_, g) => mean(batch!.rewards.filter((_, r) => batch!.groupIds[r] === g)));
        Object.assign(metrics, {
          reward: mean(batch.rewards),
          reward_std: mean([...adv.groupStd.values()]),
          frac_reward_zero_std: adv.groups === 0 ? 0 : adv.zeroStdGroups / adv.groups,
          accuracy: mean(batch.match),
          'reward/length': mean(batch.lengthRewards),
          'completions/mean_length': mean(batch.reasoningTokens),
          'completions/max_length': Math.max(...batch.reasoningTokens),
          'completions/clipped_ratio': mean(batch.truncated.map(Number)),
          'completions/unparsed_ratio': mean(batch.predictions.map((p) => (p === null ? 1 : 0))),
        });
        input.sampler!.observe?.(
          step,
          pickedIndices.map((index, g) => ({ index, reward: groupMeans[g]! })),
        );
        input.budget?.observe?.({ step, accuracy: metrics.accuracy!, meanLength: metrics['completions/mean_length']! });
        if (input.onRollouts && s.sampleRollouts > 0) {
          input.onRollouts(
            step,
            batch.prompts.slice(0, s.sampleRollouts).map((prompt, r) => ({
              step,
              site: picked[batch!.groupIds[r]!]!.window + ':' + picked[batch!.groupIds[r]!]!.position,
              prompt: tokenizer.decode(prompt),
              completion: tokenizer.render ? tokenizer.render(batch!.completions[r]!) : tokenizer.decode(batch!.completions[r]!),
              reasoning_tokens: batch!.reasoningTokens[r],
              prediction: batch!.predictions[r] ? Buffer.from(batch!.predictions[r]!).toString('utf8') : null,
              match: batch!.match[r],
              reward: batch!.rewards[r],
              advantage: advantages[r],
            })),
          );
        }
      }
      if (budget !== undefined) metrics.budget = budget;
      const p = rl ? input.sampler!.tierProbabilities?.(step) : undefined;
      if (p) Object.assign(metrics, { 'curriculum/p_easy': p[0], 'curriculum/p_medium': p[1], 'curriculum/p_hard': p[2] });

      // 5. Dual-loss update: RL on the key sites, NTP on the rest of their windows (m_t = 1[t ∉ C]).
      const excluded = trainWindows.map((w) => picked.filter((site) => site.window === w).map((site) => site.position));
      const ntpWindows = s.useNtp || !rl ? { windows: trainWindows.map((w) => windows[w]!), excluded } : undefined;
      const loss = rl ? s.loss : { ...s.loss, lambda: 1 }; // the NTP baseline's loss is L_NTP alone
      const result = await timedAsync(timing, 'update', () =>
        dualUpdate(model, optimizer, batch ? { prompts: batch.prompts, completions: batch.completions, oldLogProbs: batch.oldLogProbs, advantages } : undefined, ntpWindows, {
          loss,
          padId,
          lr,
          microBatchRows: s.microBatchRows,
          reference: input.reference,
          workers,
        }),
      );
      if (![result.lossRl, result.lossNtp, result.gradNorm].every(Number.isFinite)) {
        const detail = `loss/rl ${result.lossRl}, loss/ntp ${result.lossNtp}, grad_norm ${result.gradNorm}`;
        // Skipping is only honest when the optimizer refused the update, i.e. the gradient norm is not finite.
        const skippable = s.onNonFinite === 'skip' && !Number.isFinite(result.gradNorm);
        if (!skippable) throw new TrainingDivergedError(step, detail);
        streaks.nonFinite += 1;
        if (streaks.nonFinite >= s.warnAfter) throw new TrainingDivergedError(step, `${streaks.nonFinite} steps in a row with non-finite gradients (${detail})`);
        input.onWarning?.(`step ${step}: non-finite gradients (${detail}); update skipped (midtrain.onNonFinite: skip)`);
        metrics.skipped = 1;
      } else {
        streaks.nonFinite = 0;
      }
      Object.assign(metrics, {
        'loss/rl': result.lossRl,
        'loss/ntp': result.lossNtp,
        kl: result.kl,
        entropy: result.entropy,
        clip_ratio: result.clipFraction,
        grad_norm: result.gradNorm,
        'update/rl_rows': result.rlRows,
        'update/ntp_windows': ntpWindows?.windows.length ?? 0,
      });

      // 6. Log the step, then checkpoint every N steps and at the end (or when asked to stop). In this order
      // a checkpoint of step N exists only once every line before N is logged, so a resume from it (which
      // drops the lines ≥ N a killed run may have left) reads as one run. A checkpoint's write time is
      // therefore reported with the next step (`timing/checkpoint`).
      if (checkpointSeconds !== undefined) timing['timing/checkpoint'] = checkpointSeconds;
      checkpointSeconds = undefined;
      Object.assign(metrics, timing, { 'timing/step': Object.values(timing).reduce((a, b) => a + b, 0), 'mem/tensors': tf.memory().numTensors, 'mem/bytes': tf.memory().numBytes });
      input.onStep?.(metrics);
      stopped = input.shouldStop?.() ?? false;
      const last = step + 1 === s.steps;
      if ((s.checkpointEvery > 0 && (step + 1) % s.checkpointEvery === 0) || last || stopped) {
        const t0 = performance.now();
        await checkpoint(step + 1);
        checkpointSeconds = (performance.now() - t0) / 1000;
      }

      streaks.zeroStd = (metrics.frac_reward_zero_std ?? 0) >= 0.95 ? streaks.zeroStd + 1 : 0;
      streaks.clipped = (metrics['completions/clipped_ratio'] ?? 0) >= 0.95 ? streaks.clipped + 1 : 0;
      if (streaks.zeroStd === s.warnAfter) input.onWarning?.(`frac_reward_zero_std ≥ 0.95 for ${s.warnAfter} steps: almost no group has a learning signal (all rollouts equally right or wrong); sites may be too easy or too hard`);
      if (streaks.clipped === s.warnAfter) input.onWarning?.(`completions/clipped_ratio ≥ 0.95 for ${s.warnAfter} steps: rollouts hit the length cap; raise the budget or the cap`);
      if (stopped) return { steps: step + 1, stopped: true };
    }
  } finally {
    optimizer.dispose();
    await workers?.close();
  }
  return { steps: s.steps, stopped };
}

async function timedAsync<T>(timing: Record<string, number>, phase: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  timing[`timing/${phase}`] = (performance.now() - t0) / 1000;
  return out;
}
