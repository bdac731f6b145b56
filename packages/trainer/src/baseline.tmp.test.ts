import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { budgetConfigSchema, createBudgetSchedule } from '@rmt/budget';
import { createSampler } from '@rmt/curriculum';
import { dualLossConfigSchema } from '@rmt/dual-loss';
import { ByteTokenizer, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { midtrain } from './index.js';

const tokenizer = new ByteTokenizer();
const format = {
  name: 'test',
  build: (c: readonly number[], b?: number) => (b === undefined ? [...c] : [...c, 256]),
  parse: (c: readonly number[]) => ({ reasoningTokens: Math.max(0, c.length - 1), prediction: c.length > 1 ? new Uint8Array([97 + (c[0]! % 2), 97 + (c[1]! % 2)]) : c.length > 0 ? new Uint8Array([97 + (c[0]! % 2)]) : null }),
  render: (r: readonly number[], a: readonly number[]) => [...r, ...a],
  stopTokens: [258],
  answerRoom: 2,
};
const windows = Array.from({ length: 6 }, (_, w) => Array.from({ length: 12 }, (_, i) => 97 + ((w * 7 + i * 3) % 2)));
const sites = windows.flatMap((win, w) => [4, 6, 8].map((position) => ({ window: w, position, target: win[position]! })));

async function go(method: 'rmt' | 'rpt' | 'ntp', beta: number, steps: number, dir: string, resume: boolean, upTo: number) {
  const model = LlamaModel.init(parseLlamaConfig({ dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 32, vocabSize: tokenizer.vocabSize, maxSeqLen: 48 }), { seed: 3 });
  const reference = LlamaModel.init(model.config, { seed: 3 });
  const budgetConfig = budgetConfigSchema.parse({ initial: 6, minimum: 2 });
  const sampler = method === 'ntp' ? undefined : await createSampler('uniform', {}, { sites: sites.map((_, index) => ({ index, tier: 0 as const, entropy: 0 })), totalSteps: steps, seed: 1 });
  const metrics: Record<string, number>[] = [];
  const records: unknown[] = [];
  let stopAt = upTo;
  await midtrain({
    model, tokenizer, format, windows, sites, sampler,
    budget: method === 'rmt' ? createBudgetSchedule(budgetConfig) : undefined,
    budgetConfig,
    settings: {
      method, steps, sitesPerStep: 3, groupSize: 4, temperature: 1, maxReasoningTokens: 6, continuationTokens: 2,
      useBudget: method === 'rmt', useNtp: method !== 'rpt', lr: 1e-2, warmup: 1, decay: 'cosine', minLrRatio: 0.1,
      optimizer: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 },
      loss: dualLossConfigSchema.parse({ beta }), microBatchRows: 5, seed: 11, checkpointEvery: 1, keepLastN: 2, warnAfter: 2, sampleRollouts: 3, onNonFinite: 'stop', workers: 0,
    },
    checkpointDir: dir, resume, reference: beta > 0 ? reference : undefined,
    onStep: (m) => { metrics.push(Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('timing/') && !k.startsWith('mem/')))); },
    onRollouts: (_s, r) => records.push(...r),
    onWarning: (w) => records.push(w),
    shouldStop: () => metrics.length >= stopAt,
  });
  const weights = model.parameters().map((p) => Array.from(p.dataSync()));
  return { metrics, records, weights };
}

it('baseline', async () => {
  await loadBackend('cpu');
  const out: Record<string, unknown> = {};
  for (const [method, beta] of [['rmt', 0], ['rpt', 0], ['ntp', 0], ['rmt', 0.1]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'bl-'));
    out[`${method}-${beta}`] = await go(method, beta, 4, dir, false, 99);
    const dir2 = mkdtempSync(join(tmpdir(), 'bl-'));
    const a = await go(method, beta, 4, dir2, false, 2);
    const b = await go(method, beta, 4, dir2, true, 99);
    out[`${method}-${beta}-resumed`] = { a: a.metrics, b };
  }
  writeFileSync(process.env.BL_OUT ?? '/tmp/bl/out.json', JSON.stringify(out));
}, 120000);
