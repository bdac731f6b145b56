#!/usr/bin/env node
// Rollout throughput through `rmt serve` (the OpenAI-compatible server of @rmt/engine, on loopback) against
// in-process generation, by client concurrency: the standard model (dim 128, 4 layers, vocab 512), S sites
// × G = 8 samples, 16-token prompts, 32 sampled tokens each (no stop token, so every row runs to the cap).
//   npm run build && node bench/engine.mjs [--backend wasm] [--sites 16] [--reps 2] [--concurrency 1,2,4,8] [--json]
// Tokens/s counts generated tokens only. The server batches requests that arrive together, so its
// throughput grows with concurrency towards the in-process batch of all rows; the rest is HTTP + JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBackend } from '@rmt/backend';
import { createRng } from '@rmt/core';
import { OpenAIEngineClient, rolloutEngineConfigSchema, startServer } from '@rmt/engine';
import { generate, LlamaModel, parseLlamaConfig, saveModel } from '@rmt/model';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    sites: { type: 'string', default: '16' },
    reps: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,2,4,8' },
    json: { type: 'boolean', default: false },
  },
});
const S = Number(values.sites);
const G = 8;
const P = 16;
const T = 32;
const reps = Number(values.reps);
const log = (s) => values.json || process.stderr.write(`${s}\n`);

const backend = await loadBackend(values.backend);
const config = parseLlamaConfig({
  dim: 128,
  nLayers: 4,
  nHeads: 4,
  nKvHeads: 4,
  hiddenDim: 344,
  vocabSize: 512,
  maxSeqLen: 256,
  positionEncoding: 'rope',
  tieEmbeddings: true,
});
const model = LlamaModel.init(config, { seed: 1 });
const dir = mkdtempSync(join(tmpdir(), 'rmt-bench-engine-'));
await saveModel(join(dir, 'model'), model);
const rng = createRng('bench-engine');
const sitePrompts = Array.from({ length: S }, () => Array.from({ length: P }, () => 1 + Math.floor(rng.next() * 500)));
const rows = sitePrompts.flatMap((p) => new Array(G).fill(p));
const tokens = S * G * T;

async function median(f) {
  await f(); // warm-up
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await f();
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const results = [];
const local = await median(async () =>
  generate(model, rows, { maxNewTokens: T, temperature: 1, rowRngs: rows.map((_, r) => createRng(`b:${r}`)) }),
);
results.push({ engine: 'in-process', concurrency: null, seconds: local, tokensPerSecond: tokens / local });
log(`backend ${backend.name}: ${S} sites × G ${G}, ${T} tokens each (${tokens} tokens)`);
log(`in-process generate        ${(tokens / local).toFixed(0).padStart(7)} tokens/s  (${local.toFixed(2)} s)`);

const server = await startServer({ model: join(dir, 'model'), servedModelName: 'bench', port: 0 });
try {
  for (const concurrency of values.concurrency.split(',').map(Number)) {
    const client = await OpenAIEngineClient.connect(
      rolloutEngineConfigSchema.parse({ engine: 'openai', baseUrl: server.url, model: 'bench', concurrency }),
    );
    const s = await median(() =>
      client.complete(sitePrompts, { n: G, maxTokens: T, temperature: 1, stopTokenIds: [], seed: 7, vocabSize: 512 }),
    );
    results.push({ engine: 'rmt serve', concurrency, seconds: s, tokensPerSecond: tokens / s });
    log(
      `rmt serve, concurrency ${String(concurrency).padEnd(3)} ${(tokens / s).toFixed(0).padStart(7)} tokens/s  (${s.toFixed(2)} s, ${((tokens / s / (tokens / local)) * 100).toFixed(0)}% of in-process)`,
    );
  }
} finally {
  await server.close();
  model.dispose();
  rmSync(dir, { recursive: true, force: true });
}
if (values.json)
  process.stdout.write(
    `${JSON.stringify({ backend: backend.name, sites: S, groupSize: G, promptTokens: P, newTokens: T, results })}\n`,
  );
