#!/usr/bin/env node
// `npm run bench`: the standard workloads on every backend present, and the same model and workloads in
// PyTorch (bench/torch_reference.py, Debian's python3-torch) in the same invocation; ratios ours/PyTorch.
//   npm run bench [-- --reps 5] [--json] [--backends wasm,tensorflow] [--no-save]
//   npm run bench -- --scale | --tiny   four model shapes up to SmolLM2-135M's (bench/scale.mjs)
// --reps is for the RMT step; the train step takes 4× and decoding 2× as many (they are short, and their
// medians over 5 moved by ±15% between runs), after 3 warm-up runs each, here and in PyTorch.
// webgpu runs when Dawn finds an adapter. On a software one (Mesa's lavapipe: no GPU, every shader run on the
// CPU through Vulkan) its rows are reported, not targeted: marked `(software)`, one repetition as for the cpu
// backend, and never the "best" that the ratio to PyTorch is taken from.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { availableBackends, loadBackend } from '@rmt/backend';
import { createRng } from '@rmt/core';
import { generate, LlamaModel, parseLlamaConfig } from '@rmt/model';
import { AdamW, dualUpdate, generateRows, ParallelWorkers, nextTokenStep, padBatch } from '@rmt/trainer';
import { dualLossConfigSchema } from '@rmt/dual-loss';

if (process.argv.includes('--scale') || process.argv.includes('--tiny')) {
  await import('./scale.mjs');
  process.exit(0);
}
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
    backends: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
  },
});
const reps = Number(values.reps);
const here = new URL('.', import.meta.url).pathname;
const log = (s) => values.json || process.stderr.write(`${s}\n`);

// The standard workload (issue 7): our Llama-style model, dim 128, 4 layers, 4 heads, SwiGLU 344, vocab 512.
const C = {
  dim: 128,
  nLayers: 4,
  nHeads: 4,
  nKvHeads: 4,
  hiddenDim: 344,
  vocabSize: 512,
  maxSeqLen: 256,
  positionEncoding: 'rope',
  tieEmbeddings: true,
};
const d = C.dim,
  L = C.nLayers,
  h = C.hiddenDim,
  V = C.vocabSize;
const matmulParams = L * (d * 3 * d + d * d + d * 2 * h + h * d) + d * V;
/** Forward FLOPs for `tokens` tokens with `keys` average attended positions (matmuls only). */
const forwardFlops = (tokens, keys) => 2 * tokens * matmulParams + 4 * tokens * keys * d * L;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function timeIt(fn, n, warmup = 3) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return median(out);
}
let seed = 1;
const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const ids = (rows, cols) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.floor(rand() * V)));

function torchReference() {
  const python = '/usr/bin/python3';
  if (!existsSync(python)) return { missing: 'Debian python3 (/usr/bin/python3)' };
  try {
    execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return { missing: 'python3-torch and libopenblas0-pthread (apt-get install python3-torch libopenblas0-pthread)' };
  }
  return JSON.parse(execFileSync(python, [`${here}torch_reference.py`, '--reps', String(reps)], { encoding: 'utf8' }));
}

const results = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  workloads: { train: {}, decode: {}, rmt_step: {} },
  phases: {},
  /** What each backend ran on (loadBackend's device), and which rows are reported but not targeted. */
  devices: {},
  notTargeted: [],
};
const backends = values.backends ? values.backends.split(',') : await availableBackends();
for (const name of backends) {
  const info = await loadBackend(name);
  const software = info.adapter?.software === true;
  results.devices[name] = info.device;
  if (software) results.notTargeted.push(name);
  const slow = name === 'cpu' || software;
  const n = slow ? 1 : reps;
  const warmup = slow ? 1 : 3; // the cpu backend takes ~16 s a train step
  log(`${name} (${info.device}) …`);
  const model = LlamaModel.init(parseLlamaConfig(C), { seed: 0 });
  const opt = new AdamW(model.parameters(), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
    maxGradNorm: 1,
  });
  // (a) training step: batch 8 × 64 tokens, AdamW.
  const batch = padBatch(ids(8, 65), 0);
  results.workloads.train[name] = await timeIt(
    () => nextTokenStep(model, opt, batch, 1e-4),
    slow ? 1 : 4 * reps,
    warmup,
  );
  // (b) KV-cached sampling: batch 16, prompt 16, 64 new tokens; ms per decode step.
  const prompts = ids(16, 16);
  results.workloads.decode[name] =
    (await timeIt(
      () => generate(model, prompts, { maxNewTokens: 64, temperature: 1, seed: 1 }),
      slow ? 1 : 2 * reps,
      warmup,
    )) / 64;
  // (c) an RMT-shaped step: 16 sites × 8 rollouts, context 48, 32 reasoning tokens, dual-loss update.
  // Not on the cpu backend (minutes a step); once, after one warm-up, on a software WebGPU adapter.
  if (name !== 'cpu') {
    // On the single-threaded backends, also with parallel workers on the spare cores (what `rmt run` does).
    const spare = name === 'wasm' ? Math.min(3, availableParallelism() - 1) : 0;
    for (const workers of spare > 0 ? [0, spare] : [0]) {
      const pool = workers > 0 ? await ParallelWorkers.start(workers, name) : undefined;
      const label = workers > 0 ? `${name}+${workers}w` : name;
      const phases = [];
      const step = async () => {
        const t0 = performance.now();
        const prompt = ids(16, 48).flatMap((p) => Array(8).fill(p));
        const out = await generateRows(model, prompt, { maxNewTokens: 32, temperature: 1 }, createRng(2), pool);
        const t1 = performance.now();
        const advantages = prompt.map(() => rand() * 2 - 1);
        await dualUpdate(
          model,
          opt,
          { prompts: prompt, completions: out.tokens, oldLogProbs: out.logProbs, advantages },
          { windows: ids(16, 48), excluded: ids(16, 0) },
          { loss: dualLossConfigSchema.parse({}), padId: 0, lr: 1e-4, microBatchRows: 64, workers: pool },
        );
        phases.push({ rollout: (t1 - t0) / 1000, update: (performance.now() - t1) / 1000 });
      };
      results.workloads.rmt_step[label] =
        (await timeIt(step, slow ? 1 : Math.max(2, Math.floor(n / 2)), warmup)) / 1000;
      results.phases[label] = {
        rollout: median(phases.map((p) => p.rollout)),
        update: median(phases.map((p) => p.update)),
      };
      await pool?.close();
    }
  } else results.workloads.rmt_step[name] = null;
  opt.dispose();
  model.dispose();
}

log('torch reference …');
const torch = torchReference();
results.torch = torch;
const ref = { train: torch.train_ms, decode: torch.decode_ms_per_token, rmt_step: torch.rmt_step_s };
for (const [w, row] of Object.entries(results.workloads)) {
  row.torch = ref[w] ?? null;
  const best = Math.min(
    ...Object.entries(row)
      .filter(([k, v]) => k !== 'torch' && v !== null && !results.notTargeted.includes(k))
      .map(([, v]) => v),
  );
  row.ratio = row.torch ? best / row.torch : null;
}
const trainFlops = 3 * forwardFlops(8 * 64, 32);
const decodeFlops = forwardFlops(16, 48);

const previous = existsSync(`${here}results`)
  ? readdirSync(`${here}results`)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .at(-1)
  : undefined;
const prior = previous ? JSON.parse(readFileSync(`${here}results/${previous}`, 'utf8')) : undefined;
if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  const fmt = (v, unit) => (v === null || v === undefined ? '–' : `${v.toFixed(unit === 's' ? 2 : 1)} ${unit}`);
  const units = { train: 'ms', decode: 'ms', rmt_step: 's' };
  // A '+Nw' row (parallel workers) is its backend's too.
  const labelOf = (b) => (results.notTargeted.includes(b.replace(/\+\d+w$/, '')) ? `${b} (software)` : b);
  const width = Math.max(
    12,
    ...Object.values(results.workloads).flatMap((row) => Object.keys(row).map((b) => labelOf(b).length)),
  );
  console.log(
    `\n${'workload'.padEnd(10)} ${'backend'.padEnd(width)} ${'time'.padEnd(13)} ${'ours/torch'.padEnd(12)} ${'achieved'.padEnd(17)} previous (${previous ?? 'none'})`,
  );
  for (const [w, row] of Object.entries(results.workloads)) {
    for (const [b, v] of Object.entries(row)) {
      if (b === 'ratio') continue;
      const gflops =
        v && w === 'train'
          ? `${(trainFlops / (v / 1000) / 1e9).toFixed(1)} GFLOP/s`
          : v && w === 'decode'
            ? `${(16 / (v / 1000)).toFixed(0)} tok/s`
            : '';
      const ratio = b === 'torch' || !v || !row.torch ? '' : `${(v / row.torch).toFixed(2)}×`;
      console.log(
        `${w.padEnd(10)} ${labelOf(b).padEnd(width)} ${fmt(v, units[w]).padEnd(13)} ${ratio.padEnd(12)} ${gflops.padEnd(17)} ${fmt(prior?.workloads?.[w]?.[b], units[w])}`,
      );
    }
  }
  if (torch.missing) console.log(`\nPyTorch reference not run: missing ${torch.missing}`);
  else
    console.log(
      `\nmatmul ceiling (PyTorch 1024² on ${torch.threads} thread): ${torch.matmul_gflops.toFixed(0)} GFLOP/s; train step ${(trainFlops / 1e9).toFixed(2)} GFLOP, decode step ${(decodeFlops / 1e6).toFixed(1)} MFLOP`,
    );
  for (const [b, p] of Object.entries(results.phases))
    console.log(`rmt_step phases on ${b}: rollout ${p.rollout.toFixed(2)} s, update ${p.update.toFixed(2)} s`);
  for (const b of results.notTargeted)
    console.log(`${b} (software): ${results.devices[b]}; reported, not targeted (its shaders run on the CPU)`);
}
if (!values['no-save']) {
  mkdirSync(`${here}results`, { recursive: true });
  // Named by date and minute (UTC), so a second run on a day keeps the first as its 'previous'.
  writeFileSync(
    `${here}results/${new Date().toISOString().slice(0, 16).replace(':', '')}.json`,
    `${JSON.stringify(results, null, 2)}\n`,
  );
}
