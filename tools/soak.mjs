#!/usr/bin/env node
// Soak: a long mid-training run of a tiny model; prints the tensor count and heap every 100 steps, so a
// leak shows as growth. Not part of CI (slow); its figures are in the README's reliability section.
//   npm run build && node --expose-gc tools/soak.mjs [--steps 1000] [--backend wasm]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig, RunDirectory, runMidtrain, runPretrain } from '../apps/runner/dist/index.js';

const { values } = parseArgs({
  options: { steps: { type: 'string', default: '1000' }, backend: { type: 'string', default: 'wasm' } },
});
const dir = mkdtempSync(join(tmpdir(), 'rmt-soak-'));
try {
  const quiet = { start() {}, step() {}, stop() {}, log() {}, warn: (l) => console.error(`warning: ${l}`) };
  const pre = resolveConfig({ preset: 'tiny', set: [`backend=${values.backend}`] }).config;
  const base = await runPretrain(pre, new RunDirectory(join(dir, 'base')), { quiet: true, json: false }, quiet);
  const steps = Number(values.steps);
  const { config } = resolveConfig({
    preset: 'tiny',
    set: [
      `backend=${values.backend}`,
      `base=${base.dir}`,
      `midtrain.steps=${steps}`,
      'midtrain.checkpointEvery=100',
      'midtrain.workers=1', // 'auto' starts none where @rmt/kernels take both cores: soak the worker's isolate too
      'eval.sites=8',
    ],
  });
  const t0 = Date.now();
  const rows = [];
  const reporter = {
    ...quiet,
    step: (m) => {
      if ((m.step + 1) % 100 === 0) {
        globalThis.gc?.(); // with --expose-gc: measure live memory, not GC lag
        const row = {
          step: m.step + 1,
          tensors: m['mem/tensors'],
          tfBytes: m['mem/bytes'],
          heapMB: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
          rssMB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
          seconds: Math.round((Date.now() - t0) / 1000),
        };
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    },
  };
  await runMidtrain(
    config,
    new RunDirectory(join(dir, 'run')),
    { quiet: true, json: false, resume: false, evaluateBase: false },
    reporter,
  );
  const flat = new Set(rows.map((r) => r.tensors)).size === 1;
  console.log(
    `${steps} steps in ${Math.round((Date.now() - t0) / 1000)} s; tensors ${flat ? `flat at ${rows[0].tensors}` : 'NOT flat'}; heap ${rows[0].heapMB} → ${rows.at(-1).heapMB} MB, rss ${rows[0].rssMB} → ${rows.at(-1).rssMB} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
