// Rollouts on an inference engine (METHOD.md §7): against `rmt serve`'s server, greedy engine rollouts are
// the local ones; the trainer's recomputed log-probs are the local generation's; the truncated importance
// weights scale the policy loss as min(π_old/π_engine, C) says; weights are pushed at the start and every
// syncEvery updates.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { budgetConfigSchema } from '@rmt/budget';
import { createRng } from '@rmt/core';
import { createSampler } from '@rmt/curriculum';
import type { PromptFormat } from '@rmt/data';
import {
  OpenAIEngineClient,
  rolloutEngineConfigSchema,
  startServer,
  type CompletionParams,
  type RolloutEngine,
  type RunningServer,
} from '@rmt/engine';
import { ByteTokenizer, LlamaModel, parseLlamaConfig, saveModel } from '@rmt/model';
import { completionLogProbs, midtrain, midtrainConfigSchema, rollout, type MidtrainConfigInput } from './index.js';

const tokenizer = new ByteTokenizer();
const format: PromptFormat = {
  name: 'test',
  build: (context) => [...context],
  parse: (c) => ({
    reasoningTokens: Math.max(0, c.length - 1),
    prediction: c.length === 0 ? null : new Uint8Array(c.slice(0, 2).map((t) => 97 + (t % 2))),
  }),
  render: (reasoning, answer) => [...reasoning, ...answer],
  stopTokens: [258],
  answerRoom: 2,
};
const config = parseLlamaConfig({
  dim: 16,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 1,
  hiddenDim: 32,
  vocabSize: tokenizer.vocabSize,
  maxSeqLen: 48,
});
const windows = Array.from({ length: 6 }, (_, w) => Array.from({ length: 12 }, (_, i) => 97 + ((w * 7 + i * 3) % 2)));
const sites = windows.flatMap((win, w) =>
  [4, 6, 8].map((position) => ({ window: w, position, target: win[position]! })),
);
const root = mkdtempSync(join(tmpdir(), 'rmt-trainer-engine-'));
let server: RunningServer;

beforeAll(async () => {
  await loadBackend('cpu');
  const base = LlamaModel.init(config, { seed: 3, std: 0.5 });
  await saveModel(join(root, 'base'), base, tokenizer);
  base.dispose();
  server = await startServer({ model: join(root, 'base'), servedModelName: 'tiny', port: 0 });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const siteInputs = sites.slice(0, 4).map((s) => ({
  context: windows[s.window]!.slice(0, s.position),
  continuation: { bytes: new Uint8Array([windows[s.window]![s.position]!]), boundaries: [1] },
}));
const rolloutSettings = {
  groupSize: 3,
  temperature: 0,
  topK: 0,
  topP: 1,
  maxReasoningTokens: 6,
  budgetConfig: budgetConfigSchema.parse({}),
};

describe('engine rollouts', () => {
  it('greedy on rmt serve with the same weights: the local completions, rewards and (recomputed) log-probs', async () => {
    const model = LlamaModel.init(config, { seed: 3, std: 0.5 });
    try {
      const engine = await OpenAIEngineClient.connect(
        rolloutEngineConfigSchema.parse({ engine: 'openai', baseUrl: server.url, model: 'tiny' }),
      );
      const local = await rollout(model, format, siteInputs, rolloutSettings, createRng('r'));
      const remote = await rollout(
        model,
        format,
        siteInputs,
        { ...rolloutSettings, padId: 0 },
        createRng('r'),
        undefined,
        engine,
      );
      expect(remote.completions).toEqual(local.completions);
      expect(remote.rewards).toEqual(local.rewards);
      expect(remote.groupIds).toEqual(local.groupIds);
      expect(remote.truncated).toEqual(local.truncated);
      remote.oldLogProbs.forEach((row, r) =>
        row.forEach((lp, j) => expect(lp).toBeCloseTo(local.oldLogProbs[r]![j]!, 4)),
      );
      remote.engineLogProbs!.forEach((row, r) =>
        row.forEach((lp, j) => expect(lp).toBeCloseTo(local.oldLogProbs[r]![j]!, 4)),
      );
      expect(remote.tisWeights).toBeUndefined();
    } finally {
      model.dispose();
    }
  });
});

/** An engine that answers fixed completions (of two lengths, so the first step's loss is not 0) with log-probs `shift` below the trainer's own, and records its pushes. */
function fakeEngine(model: LlamaModel, shift: number) {
  const pushes: number[] = [];
  const engine: RolloutEngine = {
    complete: async (prompts: number[][], p: CompletionParams) => {
      const rows = prompts.flatMap((prompt) =>
        Array.from({ length: p.n }, (_, j) => ({
          prompt,
          tokens: j % 2 === 0 ? [97, 98, 258] : [98, 97, 97, 97, 258],
        })),
      );
      const logProbs = (
        await completionLogProbs(
          model,
          rows.map((r) => r.prompt),
          rows.map((r) => r.tokens),
          0,
          64,
        )
      ).map((row) => row.map((lp) => lp - shift));
      return { tokens: rows.map((r) => r.tokens), logProbs, finishReasons: rows.map(() => 'stop' as const) };
    },
    pushWeights: async (_model, _tokenizer, version) => void pushes.push(version),
  };
  return { engine, pushes };
}

async function train(settings: MidtrainConfigInput, shift: number) {
  const model = LlamaModel.init(config, { seed: 3 });
  const s = midtrainConfigSchema.parse({
    steps: 3,
    sitesPerStep: 3,
    groupSize: 4,
    temperature: 1,
    maxReasoningTokens: 6,
    lr: 1e-2,
    warmup: 1,
    workers: 0,
    budget: { enabled: false },
    ...settings,
  });
  const sampler = await createSampler(
    'uniform',
    {},
    { sites: sites.map((_, index) => ({ index, tier: 0 as const, entropy: 0 })), totalSteps: s.steps, seed: 1 },
  );
  const { engine, pushes } = fakeEngine(model, shift);
  const metrics: Record<string, number>[] = [];
  try {
    await midtrain({
      model,
      tokenizer,
      format,
      windows,
      sites,
      sampler,
      settings: s,
      seed: 11,
      continuationTokens: 2,
      engine,
      onStep: (m) => metrics.push(m),
    });
    return { metrics, pushes };
  } finally {
    model.dispose();
  }
}

const openai = { engine: 'openai', baseUrl: 'http://127.0.0.1:1', model: 'm' } as const;

describe('midtrain on an engine', () => {
  it('weights the policy loss by min(π_old/π_engine, C): an engine half as likely doubles loss/rl (cap 4); a third as likely, capped at 2, doubles it too', async () => {
    const plain = await train({ steps: 1, rollout: openai }, Math.log(2));
    const weighted = await train({ steps: 1, rollout: { ...openai, tis: { enabled: true, cap: 4 } } }, Math.log(2));
    const capped = await train({ steps: 1, rollout: { ...openai, tis: { enabled: true, cap: 2 } } }, Math.log(3));
    expect(plain.metrics[0]!['loss/rl']).not.toBe(0);
    expect(weighted.metrics[0]!['loss/rl']).toBeCloseTo(2 * plain.metrics[0]!['loss/rl']!, 5);
    expect(capped.metrics[0]!['loss/rl']).toBeCloseTo(2 * plain.metrics[0]!['loss/rl']!, 5);
    expect(weighted.metrics[0]!['rollout/tis_weight']).toBeCloseTo(2, 4);
    expect(capped.metrics[0]!['rollout/tis_max']).toBe(2);
    expect(plain.metrics[0]!['rollout/logprob_diff']).toBeCloseTo(Math.log(2), 5);
  });

  it('pushes the weights at the start and every syncEvery updates (not after the last)', async () => {
    expect((await train({ steps: 5, rollout: { ...openai, syncEvery: 2 } }, 0)).pushes).toEqual([0, 2, 4]);
    expect((await train({ steps: 3, rollout: openai }, 0)).pushes).toEqual([0, 1, 2]);
  });

  it('refuses engine: openai without an engine client', async () => {
    const model = LlamaModel.init(config, { seed: 3 });
    const s = midtrainConfigSchema.parse({ steps: 1, rollout: openai, workers: 0 });
    const sampler = await createSampler(
      'uniform',
      {},
      { sites: sites.map((_, index) => ({ index, tier: 0 as const, entropy: 0 })), totalSteps: 1, seed: 1 },
    );
    await expect(
      midtrain({ model, tokenizer, format, windows, sites, sampler, settings: s, seed: 1, continuationTokens: 2 }),
    ).rejects.toThrow(/midtrain.rollout.engine is openai/);
    model.dispose();
  });
});
