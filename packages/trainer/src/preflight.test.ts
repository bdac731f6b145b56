// The preflight (METHOD.md §7) and the no-signal stop of the loop: a run whose answers never parse, or whose
// groups all have equal rewards, stops (or warns, by config) with the step, the cause and the fix.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { createBudgetSchedule } from '@rmt/budget';
import { createSampler } from '@rmt/curriculum';
import type { PromptFormat } from '@rmt/data';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import {
  midtrain,
  midtrainConfigSchema,
  NoLearningSignalError,
  preflight,
  PreflightError,
  preflightSummary,
  type MidtrainConfigInput,
} from './index.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-preflight-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await loadBackend('cpu');
});

const tokenizer = new ByteTokenizer();
/** A format whose answers parse as 'a'/'b' from the first completion tokens (about half match), or never parse. */
function testFormat(name: string, parses: boolean): PromptFormat {
  return {
    name,
    build: (context) => [...context],
    parse: (c) => ({
      reasoningTokens: c.length,
      prediction: parses && c.length > 0 ? new Uint8Array([97 + (c[0]! % 2)]) : null,
    }),
    render: (reasoning, answer) => [...reasoning, ...answer],
    stopTokens: [258],
    answerRoom: 2,
  };
}
const windows = Array.from({ length: 6 }, (_, w) => Array.from({ length: 12 }, (_, i) => 97 + ((w * 7 + i * 3) % 2)));
const sites = windows.flatMap((win, w) =>
  [4, 6, 8].map((position) => ({ window: w, position, target: win[position]! })),
);
const modelConfig = parseLlamaConfig({
  dim: 16,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 1,
  hiddenDim: 32,
  vocabSize: tokenizer.vocabSize,
  maxSeqLen: 48,
});

function settings(over: MidtrainConfigInput = {}) {
  return midtrainConfigSchema.parse({
    steps: 6,
    sitesPerStep: 2,
    groupSize: 4,
    temperature: 1,
    maxReasoningTokens: 4,
    warmup: 0,
    checkpointEvery: 0,
    warnAfter: 2,
    workers: 0,
    budget: { initial: 4, minimum: 2 },
    ...over,
  });
}

async function runPreflight(format: PromptFormat, over: MidtrainConfigInput = {}) {
  const model = LlamaModel.init(modelConfig, { seed: 3 });
  const warnings: { message: string; step: number }[] = [];
  const s = settings(over);
  try {
    const report = await preflight({
      model,
      tokenizer,
      format,
      windows,
      sites,
      budget: createBudgetSchedule(s.budget),
      settings: s,
      seed: 5,
      continuationTokens: 2,
      modelName: 'tiny',
      onWarning: (message, step) => warnings.push({ message, step }),
    });
    return { report, warnings };
  } finally {
    model.dispose();
  }
}

describe('preflight', () => {
  it('reports parse rate, reward and reasoning length of sites × groupSize rollouts, with samples', async () => {
    const { report, warnings } = await runPreflight(testFormat('test', true), { preflight: { sites: 3 } });
    expect(report).toMatchObject({
      sites: 3,
      rollouts: 12,
      parsed: 12,
      parseRate: 1,
      outcome: 'ok',
      message: null,
      budget: 4,
      format: 'test',
      maxNewTokens: 2 * 4 + 2,
    });
    expect(report.accuracy).toBeGreaterThan(0);
    expect(report.meanReasoningTokens).toBeGreaterThan(0);
    expect(report.samples).toHaveLength(4);
    expect(report.samples[0]).toEqual({
      prompt: expect.any(String),
      completion: expect.any(String),
      prediction: expect.stringMatching(/^[ab]$/),
      reward: expect.any(Number),
    });
    expect(warnings).toEqual([]);
    expect(preflightSummary(report)).toMatch(
      /^preflight: 12\/12 rollouts parsed \(100%\), accuracy \d+%, reward [\d.]+, reasoning [\d.]+ tokens \(max \d+\), clipped \d+%, groups without signal \d+%, budget 4$/,
    );
    // Its own RNG: the same report again (and the run's RNGs untouched).
    expect((await runPreflight(testFormat('test', true), { preflight: { sites: 3 } })).report).toEqual(report);
  });

  it('answers that never parse stop the run, naming the format, the cause and the fix', async () => {
    const error = await runPreflight(testFormat('llm-text', false)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreflightError);
    const message = (error as PreflightError).message;
    expect(message).toMatch(
      /^preflight: 0 of 16 rollouts \(4 sites × 4\) of tiny gave a parsable answer: the model does not follow data\.format 'llm-text'/,
    );
    expect(message).toMatch(
      /use an instruction-tuned model with a chat template.*or data\.format: control-tokens for a model trained from scratch.*or raise midtrain\.budget\.initial/,
    );
    expect(message).toMatch(/midtrain\.preflight\.action: warn runs anyway/);
    expect((error as PreflightError).report).toMatchObject({
      parsed: 0,
      parseRate: 0,
      outcome: 'stopped',
      rollouts: 16,
    });
    // The control-token format's own cause; no budget for RPT (the cap to raise is maxReasoningTokens).
    const rpt = (await runPreflight(testFormat('control-tokens', false), { method: 'rpt' }).catch(
      (e: unknown) => e,
    )) as PreflightError;
    expect(rpt.message).toMatch(/does not follow data\.format 'control-tokens' \(no '\[\/THINK\]\[ANS\] answer'/);
    expect(rpt.report.budget).toBeNull();
  });

  it('action: warn reports the finding as a warning at step 0 and lets the run go on', async () => {
    const { report, warnings } = await runPreflight(testFormat('llm-text', false), {
      preflight: { sites: 2, action: 'warn' },
    });
    expect(report).toMatchObject({ outcome: 'warned', parsed: 0, rollouts: 8 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.step).toBe(0);
    expect(warnings[0]!.message).toMatch(
      /^preflight: 0 of 8 rollouts .* gave a parsable answer.*\(midtrain\.preflight\.action: warn, so the run goes on\)$/,
    );
  });

  it('a prompt plus the generation cap longer than the model context is refused before any rollout, naming the settings', async () => {
    // Sites at position 8 at most: an 8-token prompt; RPT's cap 40 + 2 answer tokens: 50 > maxSeqLen 48.
    await expect(runPreflight(testFormat('test', true), { method: 'rpt', maxReasoningTokens: 40 })).rejects.toThrow(
      /^preflight: the longest prompt \(8 tokens, for a site at position 8 of a window\) \+ up to 42 generated tokens exceed the maxSeqLen 48 of tiny: lower data\.windowLength or midtrain\.maxReasoningTokens/,
    );
    expect(
      (await runPreflight(testFormat('test', true), { method: 'rpt', maxReasoningTokens: 38 })).report.maxNewTokens,
    ).toBe(40);
  });

  it('config: sites 0 is off (refused if called), unknown keys and actions are named', () => {
    expect(settings({ preflight: { sites: 0 } }).preflight).toEqual({ sites: 0, action: 'stop' });
    expect(() => midtrainConfigSchema.parse({ preflight: { action: 'ignore' } })).toThrow(/action/);
    expect(() => midtrainConfigSchema.parse({ preflight: { site: 3 } })).toThrow(/site/);
    expect(() => midtrainConfigSchema.parse({ onNoSignal: 'skip' })).toThrow(/onNoSignal/);
    return expect(runPreflight(testFormat('test', true), { preflight: { sites: 0 } })).rejects.toThrow(
      /midtrain\.preflight\.sites is 0/,
    );
  });
});

describe('no learning signal during training', () => {
  // RPT (no budget, so no length reward) with answers that never parse: every reward is 0, every group's std 0.
  async function train(over: MidtrainConfigInput, dir: string) {
    const model = LlamaModel.init(modelConfig, { seed: 3 });
    const s = settings({ method: 'rpt', checkpointEvery: 4, ...over });
    const sampler = await createSampler(
      'uniform',
      {},
      { sites: sites.map((_, index) => ({ index, tier: 0 as const, entropy: 0 })), totalSteps: s.steps, seed: 1 },
    );
    const warnings: { message: string; step: number }[] = [];
    const steps: number[] = [];
    try {
      const result = await midtrain({
        model,
        tokenizer,
        format: testFormat('llm-text', false),
        windows,
        sites,
        sampler,
        settings: s,
        seed: 11,
        continuationTokens: 2,
        checkpointDir: dir,
        onStep: (m) => steps.push(m.step!),
        onWarning: (message, step) => warnings.push({ message, step }),
      });
      return { result, warnings, steps };
    } finally {
      model.dispose();
    }
  }

  it('onNoSignal: stop ends the run after warnAfter steps with frac_reward_zero_std = 1, keeping a checkpoint of that step', async () => {
    const dir = join(root, 'stop');
    const error = await train({ onNoSignal: 'stop', warnAfter: 3 }, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoLearningSignalError);
    expect((error as NoLearningSignalError).step).toBe(2);
    expect((error as Error).message).toMatch(
      /^step 2: frac_reward_zero_std = 1 for 3 steps in a row: no group has a learning signal/,
    );
    expect((error as Error).message).toMatch(
      /Cause: no rollout gave a parsable answer \(completions\/unparsed_ratio = 1\).*Fix: an instruction-tuned model/,
    );
    expect((error as Error).message).toMatch(
      /the run stopped with a checkpoint of step 3 \(midtrain\.onNoSignal: stop/,
    );
    expect(existsSync(join(dir, 'step-000003', 'state.json'))).toBe(true); // not a checkpoint step (every 4): written for the stop
  });

  it('onNoSignal: warn (the default) warns once with the cause and trains on', async () => {
    const dir = join(root, 'warn');
    const { result, warnings, steps } = await train({ warnAfter: 2 }, dir);
    expect(result).toEqual({ steps: 6, stopped: false });
    expect(steps).toEqual([0, 1, 2, 3, 4, 5]);
    // One warning about the signal, the exact-zero one (the ≥ 0.95 warning of the same streak is subsumed), at step 1.
    const signal = warnings.filter((w) => w.message.includes('frac_reward_zero_std'));
    expect(signal.map((w) => w.step)).toEqual([1]);
    expect(signal[0]!.message).toMatch(
      /^step 1: frac_reward_zero_std = 1 for 2 steps.*Cause: no rollout gave a parsable answer.*\(midtrain\.onNoSignal: warn, so the run goes on\)$/,
    );
    expect(readdirSync(dir).filter((n) => n.startsWith('step-'))).toEqual(['step-000004', 'step-000006']);
  });
});
