// The preflight of an RL run (ours, METHOD.md §7): before step 0, a few rollouts of the starting policy on
// training sites, with the prompt format, budget and sampling the run will use. A policy whose answers
// never parse earns a match reward of 0 on every rollout, so RL has nothing to learn from (with the budget on,
// only the length reward varies): the run would spend its whole budget and "succeed" without a signal. The
// preflight stops it (or warns, by config) with the likely cause and the fix, and reports parse rate,
// reward and reasoning length for preflight.json.
import type { BudgetSchedule } from '@rmt/budget';
import { createRng, type Rng } from '@rmt/core';
import { siteContext, siteContinuation, type PromptFormat, type Site } from '@rmt/data';
import { groupAdvantages } from '@rmt/dual-loss';
import type { LlamaModel, Tokenizer } from '@rmt/model';
import { methodSwitches, type MidtrainSettings } from './config.js';
import { rollout } from './rollout.js';

export interface PreflightInput {
  /** The starting policy (the run's base: before step 0 they are the same weights). */
  model: LlamaModel;
  tokenizer: Tokenizer;
  format: PromptFormat;
  windows: number[][];
  /** The training sites; the preflight draws `settings.preflight.sites` of them uniformly. */
  sites: Site[];
  /** The run's budget schedule: the preflight prompts with B_0 where the method uses the budget. */
  budget?: BudgetSchedule;
  settings: MidtrainSettings;
  seed: number;
  continuationTokens: number;
  /** What the model is, for the message (e.g. the base's path). */
  modelName?: string;
  /** With `action: warn`, the finding is reported here (at step 0) instead of stopping the run. */
  onWarning?: (message: string, step: number) => void;
}

/** preflight.json: what the preflight saw. Rates are fractions in [0, 1]; lengths are reasoning tokens. */
export interface PreflightReport {
  /** Sites sampled, rollouts (sites × groupSize), and rollouts whose answer parsed. */
  sites: number;
  rollouts: number;
  parsed: number;
  parseRate: number;
  /** Mean total reward, and the fraction of rollouts whose prediction matched (r_match = 1). */
  reward: number;
  accuracy: number;
  /** Reasoning tokens per rollout: mean and largest. */
  meanReasoningTokens: number;
  maxReasoningTokens: number;
  /** Rollouts cut by the length cap, and groups whose rewards were all equal (no learning signal). */
  clippedRatio: number;
  fracRewardZeroStd: number;
  /** B_0 told in the prompt (null: the method runs without a budget). */
  budget: number | null;
  /** Most tokens a rollout could generate (reasoning cap + the format's answer room). */
  maxNewTokens: number;
  format: string;
  /** ok; warned (a finding, the run went on); stopped (the run ends with `message`). */
  outcome: 'ok' | 'warned' | 'stopped';
  /** The finding (cause and fix), null when ok. */
  message: string | null;
  /** The first rollouts, decoded, so a user sees what the model wrote. */
  samples: { prompt: string; completion: string; prediction: string | null; reward: number }[];
}

/** The run stopped at the preflight: its answers never parse (`midtrain.preflight.action: stop`). */
export class PreflightError extends Error {
  constructor(
    message: string,
    readonly report: PreflightReport,
  ) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** Samples kept in the report. */
const SAMPLES = 4;

/** `n` distinct indices of [0, size), uniformly (n is small: rejection of repeats). */
function distinctIndices(size: number, n: number, rng: Rng): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(n, size)) out.add(Math.floor(rng.next() * size));
  return [...out].sort((a, b) => a - b);
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/**
 * Why no answer parsed, and what to change: by prompt format, and whether the completions were cut off by the
 * length cap (then the cap may be the cause). Config keys are named as the user writes them.
 */
function unparsedFinding(
  r: Omit<PreflightReport, 'outcome' | 'message'>,
  modelName: string,
  useBudget: boolean,
  chat: boolean,
): string {
  const head = `preflight: 0 of ${r.rollouts} rollouts (${r.sites} sites × ${r.rollouts / Math.max(1, r.sites)}) of ${modelName} gave a parsable answer`;
  const cap = useBudget ? 'midtrain.budget.initial (or midtrain.budget.capMultiplier)' : 'midtrain.maxReasoningTokens';
  const clipped =
    r.clippedRatio >= 0.5 ? `; ${pct(r.clippedRatio)} of them hit the length cap of ${r.maxNewTokens} tokens` : '';
  if (r.format === 'control-tokens') {
    return (
      `${head}: the model does not follow data.format 'control-tokens' (no '[/THINK][ANS] answer' after its reasoning)${clipped}. ` +
      `This format is for models trained with its control tokens (the embedded base, or \`rmt pretrain\`). Fix: mid-train such a model, ` +
      `or use data.format: llm-text with an instruction-tuned model${clipped ? `, or raise ${cap}` : ''}`
    );
  }
  return (
    `${head}: the model does not follow data.format '${r.format}' (no '</think>' followed by '\\boxed{…}' in any completion)${clipped}. ` +
    (chat
      ? `The prompt went through the tokenizer's chat template, but the model does not answer in this format (a base or random-weight model, or one too small to follow it). Fix: use an `
      : `Its tokenizer has no chat template, so the prompt is plain text, which a base LM (e.g. one trained only on stories) continues instead of answering. Fix: use an `) +
    `instruction-tuned model with a chat template (base: a Hugging Face snapshot folder whose tokenizer_config.json has chat_template), ` +
    `or data.format: control-tokens for a model trained from scratch with the control tokens, or raise ${cap} if the completions are cut off`
  );
}

/**
 * The longest prompt of the run (its site furthest into a window) plus the generation cap must fit the model's
 * context, or every step would fail in generation: refuse now, naming the settings that set both lengths.
 */
function checkContextLength(
  input: PreflightInput,
  budget: number | undefined,
  maxNewTokens: number,
  useBudget: boolean,
): void {
  const longest = input.sites.reduce((a, b) => (b.position > a.position ? b : a));
  const promptTokens = input.format.build(siteContext(input.windows, longest), budget).length;
  const maxSeqLen = input.model.config.maxSeqLen;
  if (promptTokens + maxNewTokens <= maxSeqLen) return;
  const cap = useBudget ? 'midtrain.budget.initial' : 'midtrain.maxReasoningTokens';
  throw new Error(
    `preflight: the longest prompt (${promptTokens} tokens, for a site at position ${longest.position} of a window) + up to ${maxNewTokens} generated tokens exceed ` +
      `the maxSeqLen ${maxSeqLen} of ${input.modelName ?? 'the model'}: lower data.windowLength or ${cap}, or use a model with a longer context`,
  );
}

/** One log line of a report. */
export function preflightSummary(r: PreflightReport): string {
  return (
    `preflight: ${r.parsed}/${r.rollouts} rollouts parsed (${pct(r.parseRate)}), accuracy ${pct(r.accuracy)}, reward ${r.reward.toFixed(3)}, ` +
    `reasoning ${r.meanReasoningTokens.toFixed(1)} tokens (max ${r.maxReasoningTokens}), clipped ${pct(r.clippedRatio)}, groups without signal ${pct(r.fracRewardZeroStd)}` +
    (r.budget === null ? '' : `, budget ${r.budget}`)
  );
}

/**
 * Sample `settings.preflight.sites` training sites × groupSize rollouts from the starting policy (its own
 * seeded RNG, so the run's RNGs and results are the same with or without it) and judge them. No answer
 * parsed: with `action: stop` a {@link PreflightError} (its report attached), with `warn` an `onWarning`.
 * Answers that parse but never match are always only a warning (a hard start, not a broken setup).
 */
export async function preflight(input: PreflightInput): Promise<PreflightReport> {
  const { settings: s, tokenizer } = input;
  const p = s.preflight;
  if (p.sites <= 0) throw new Error('midtrain.preflight.sites is 0: the preflight is off (the caller skips it)');
  if (input.sites.length === 0) throw new Error('preflight: no training sites');
  const rng = createRng(`preflight:${input.seed}`);
  const picked = distinctIndices(input.sites.length, p.sites, rng).map((i) => input.sites[i]!);
  const { useBudget } = methodSwitches(s);
  const budget = useBudget ? input.budget?.budget(0, s.steps) : undefined;
  const siteInputs = picked.map((site) => ({
    context: siteContext(input.windows, site),
    continuation: siteContinuation(input.windows, site, tokenizer, input.continuationTokens),
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
  const reasoningCap =
    budget === undefined ? s.maxReasoningTokens : Math.max(1, Math.ceil(s.budget.capMultiplier * budget));
  checkContextLength(input, budget, reasoningCap + input.format.answerRoom, useBudget);
  // In process, on one thread: a few dozen rows, and the same weights an engine would serve at step 0.
  const batch = await rollout(input.model, input.format, siteInputs, settings, rng);
  const adv = groupAdvantages(batch.rewards, batch.groupIds, s.loss.delta);
  const parsed = batch.predictions.filter((x) => x !== null).length;
  const seen = {
    sites: picked.length,
    rollouts: batch.rewards.length,
    parsed,
    parseRate: batch.rewards.length === 0 ? 0 : parsed / batch.rewards.length,
    reward: mean(batch.rewards),
    accuracy: mean(batch.match),
    meanReasoningTokens: mean(batch.reasoningTokens),
    maxReasoningTokens: Math.max(0, ...batch.reasoningTokens),
    clippedRatio: mean(batch.truncated.map(Number)),
    fracRewardZeroStd: adv.groups === 0 ? 0 : adv.zeroStdGroups / adv.groups,
    budget: budget ?? null,
    maxNewTokens: reasoningCap + input.format.answerRoom,
    format: input.format.name,
    samples: batch.prompts.slice(0, SAMPLES).map((prompt, r) => {
      const completion = batch.completions[r]!;
      const prediction = batch.predictions[r];
      return {
        prompt: tokenizer.decode(prompt),
        completion: tokenizer.render ? tokenizer.render(completion) : tokenizer.decode(completion),
        prediction: prediction ? Buffer.from(prediction).toString('utf8') : null,
        reward: batch.rewards[r]!,
      };
    }),
  };
  const modelName = input.modelName ?? 'the model';
  if (parsed === 0) {
    // LlmTextFormat says whether its prompts went through a chat template (the cause differs).
    const chat = (input.format as { chat?: unknown }).chat === true;
    const finding = unparsedFinding(seen, modelName, useBudget, chat);
    if (p.action === 'stop') {
      const report: PreflightReport = { ...seen, outcome: 'stopped', message: finding };
      throw new PreflightError(
        `${finding}. (The run stopped before step 0; the rollouts are in preflight.json; midtrain.preflight.action: warn runs anyway.)`,
        report,
      );
    }
    input.onWarning?.(`${finding} (midtrain.preflight.action: warn, so the run goes on)`, 0);
    return { ...seen, outcome: 'warned', message: finding };
  }
  if (seen.accuracy === 0) {
    const finding =
      `preflight: ${parsed} of ${seen.rollouts} rollouts parsed, but none predicted the next token: the match reward is 0 on every rollout, so RL learns ` +
      `only from ${useBudget ? 'the length reward' : 'nothing'} until one does. Sites may be too hard for ${modelName}: try more rollouts per site (midtrain.groupSize), ` +
      `easier sites (midtrain.curriculum), or a stronger base`;
    input.onWarning?.(finding, 0);
    return { ...seen, outcome: 'warned', message: finding };
  }
  return { ...seen, outcome: 'ok', message: null };
}
