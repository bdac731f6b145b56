// The mid-training loop on a tiny model and a two-letter corpus (rewards vary, so the RL term trains):
// bit-identical resume, the KL term and its reference, and what each method and post-training turn on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { createBudgetSchedule } from '@rmt/budget';
import { createSampler } from '@rmt/curriculum';
import type { PromptFormat } from '@rmt/data';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import {
  methodSwitches,
  midtrain,
  midtrainConfigSchema,
  posttrainConfigSchema,
  posttrainSettings,
  type MidtrainConfigInput,
} from './index.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-midtrain-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await loadBackend('cpu');
});

const tokenizer = new ByteTokenizer();
// The prediction is read from the first completion tokens as 'a'/'b', so about half the rollouts match.
const format: PromptFormat = {
  name: 'test',
  build: (context, budget) => (budget === undefined ? [...context] : [...context, 256]),
  parse: (c) => ({
    reasoningTokens: Math.max(0, c.length - 1),
    prediction: c.length === 0 ? null : new Uint8Array(c.slice(0, 2).map((t) => 97 + (t % 2))),
  }),
  render: (reasoning, answer) => [...reasoning, ...answer],
  stopTokens: [258],
  answerRoom: 2,
};
const windows = Array.from({ length: 6 }, (_, w) => Array.from({ length: 12 }, (_, i) => 97 + ((w * 7 + i * 3) % 2)));
const sites = windows.flatMap((win, w) =>
  [4, 6, 8].map((position) => ({ window: w, position, target: win[position]! })),
);

async function train(
  settings: MidtrainConfigInput,
  options: { dir?: string; resume?: boolean; stopAfter?: number; reference?: boolean } = {},
) {
  const config = parseLlamaConfig({
    dim: 16,
    nLayers: 1,
    nHeads: 2,
    nKvHeads: 1,
    hiddenDim: 32,
    vocabSize: tokenizer.vocabSize,
    maxSeqLen: 48,
  });
  const model = LlamaModel.init(config, { seed: 3 });
  const reference = options.reference ? LlamaModel.init(config, { seed: 3 }) : undefined;
  const s = midtrainConfigSchema.parse({
    steps: 4,
    sitesPerStep: 3,
    groupSize: 4,
    temperature: 1,
    maxReasoningTokens: 6,
    lr: 1e-2,
    warmup: 1,
    decay: 'cosine',
    microBatchRows: 5,
    checkpointEvery: 1,
    warnAfter: 2,
    sampleRollouts: 3,
    workers: 0,
    budget: { initial: 6, minimum: 2 },
    ...settings,
  });
  const sampler =
    s.method === 'ntp'
      ? undefined
      : await createSampler(
          'uniform',
          {},
          { sites: sites.map((_, index) => ({ index, tier: 0 as const, entropy: 0 })), totalSteps: s.steps, seed: 1 },
        );
  const metrics: Record<string, number>[] = [];
  try {
    await midtrain({
      model,
      tokenizer,
      format,
      windows,
      sites,
      sampler,
      budget: createBudgetSchedule(s.budget),
      settings: s,
      seed: 11,
      continuationTokens: 2,
      checkpointDir: options.dir,
      resume: options.resume,
      reference,
      onStep: (m) =>
        metrics.push(
          Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('timing/') && !k.startsWith('mem/'))),
        ),
      shouldStop: () => metrics.length >= (options.stopAfter ?? Infinity),
    });
    return { metrics, weights: (await Promise.all(model.parameters().map((p) => p.data()))).map((v) => Array.from(v)) };
  } finally {
    model.dispose();
    reference?.dispose();
  }
}

describe('midtrain', () => {
  it('resumed from a checkpoint, ends with the weights and metrics of an uninterrupted run', async () => {
    const straight = await train({});
    const dir = join(root, 'resume');
    const first = await train({}, { dir, stopAfter: 2 });
    const second = await train({}, { dir, resume: true });
    expect(second.weights).toEqual(straight.weights);
    expect([...first.metrics, ...second.metrics]).toEqual(straight.metrics);
    expect(straight.metrics.map((m) => m.budget)).toEqual([6, 4, 2, 2]); // exponential from B_0 = 6 to the floor 2
    expect(straight.metrics.some((m) => m['update/rl_rows']! > 0 && m['update/ntp_windows']! > 0)).toBe(true);
  });

  it('a KL term (loss.beta > 0) needs its reference model, and with it the KL is measured', async () => {
    await expect(train({ loss: { beta: 0.1 } })).rejects.toThrow(
      /loss\.beta 0\.1 > 0: the KL term needs a reference model/,
    );
    const { metrics } = await train({ loss: { beta: 0.1 } }, { reference: true });
    expect(metrics[0]!.kl).toBe(0); // the policy starts as the reference
    expect(metrics.slice(1).some((m) => m.kl! > 0)).toBe(true);
  });
});

describe('settings', () => {
  it('each method turns on its parts (METHOD.md §5)', async () => {
    const sw = (input: object) => methodSwitches(midtrainConfigSchema.parse(input));
    expect(sw({ method: 'rmt' })).toEqual({ useBudget: true, useNtp: true });
    expect(sw({ method: 'rmt', ntp: false, budget: { enabled: false } })).toEqual({ useBudget: false, useNtp: false });
    expect(sw({ method: 'rpt' })).toEqual({ useBudget: false, useNtp: false });
    expect(sw({ method: 'ntp' })).toEqual({ useBudget: false, useNtp: true });
  });

  it('post-training is plain GRPO from its own slice: its loss, warm-up and sampling, no NTP term', async () => {
    const m = midtrainConfigSchema.parse({ method: 'ntp', loss: { beta: 0.3 }, checkpointEvery: 7 });
    const pt = posttrainConfigSchema.parse({ loss: { beta: 0.05 } });
    expect(pt).toMatchObject({ warmup: 5, heldOutSeedOffset: 7919 });
    const s = posttrainSettings(pt, m, undefined);
    expect(s).toMatchObject({
      method: 'rmt',
      ntp: false,
      steps: pt.steps,
      lr: pt.lr,
      warmup: 5,
      decay: 'constant',
      checkpointEvery: 0,
      loss: { beta: 0.05 },
    });
    expect(methodSwitches(s)).toEqual({ useBudget: false, useNtp: false });
    expect(methodSwitches(posttrainSettings(pt, m, 12))).toEqual({ useBudget: true, useNtp: false });
    expect(posttrainSettings(pt, m, 12).budget.weight).toBe(0); // the answer only is rewarded
  });
});
