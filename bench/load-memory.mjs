#!/usr/bin/env node
// Peak memory while loading a Hugging Face folder the shape of Qwen3-0.6B (bf16, 4 shards, random weights
// written by tools/hf-tiny.mjs): loadModel reads one shard at a time and converts it straight into the
// model's float32 tensors, so the peak should sit near the float32 size of the model plus one shard.
//
//   npm run build && node bench/load-memory.mjs [--shape qwen3-0.6b|tiny]
//
// The load runs in a child process (its peak RSS is its own); a child that loads only the backend gives the
// baseline to subtract. Prints JSON and a line for the README.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const SHAPES = {
  // Qwen3-0.6B's config.json sizes (transformers' Qwen3Config keys).
  'qwen3-0.6b': {
    hidden_size: 1024,
    intermediate_size: 3072,
    num_hidden_layers: 28,
    num_attention_heads: 16,
    num_key_value_heads: 8,
    head_dim: 128,
    vocab_size: 151936,
    tie_word_embeddings: true,
    max_position_embeddings: 40960,
  },
  tiny: {},
};

const self = fileURLToPath(import.meta.url);
const { values } = parseArgs({
  options: { shape: { type: 'string', default: 'qwen3-0.6b' }, child: { type: 'string' } },
});

if (values.child !== undefined) {
  const { loadBackend } = await import('@rmt/backend');
  const { loadModel } = await import('@rmt/model');
  await loadBackend('cpu'); // tensors in JavaScript memory: no 4 GB WebAssembly heap in the way
  let params = 0;
  if (values.child !== '') {
    const { model } = await loadModel(values.child);
    params = model.parameterCount();
  }
  // VmHWM is this process image's own peak; getrusage's maxRSS is not (Linux carries it over from the parent
  // across fork and exec, and the parent held the whole model while writing it).
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  process.stdout.write(
    JSON.stringify({ params, maxRssBytes: hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024 }),
  );
  process.exit(0);
}

if (!(values.shape in SHAPES)) throw new Error(`--shape: one of ${Object.keys(SHAPES).join(', ')}`);
const { writeTinyHfFolder } = await import('../tools/hf-tiny.mjs');
const dir = mkdtempSync(join(tmpdir(), 'rmt-load-memory-'));
try {
  writeTinyHfFolder(dir, {
    family: 'qwen3',
    dtype: 'bf16',
    shards: 4,
    overrides: SHAPES[values.shape],
    tokenizer: false,
  });
  const run = (arg) =>
    JSON.parse(execFileSync(process.execPath, [self, '--child', arg], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  const baseline = run('');
  const loaded = run(dir);
  const f32 = 4 * loaded.params;
  const extra = loaded.maxRssBytes - baseline.maxRssBytes;
  const gb = (b) => (b / 2 ** 30).toFixed(2);
  const result = {
    shape: values.shape,
    params: loaded.params,
    float32Bytes: f32,
    peakRssBytes: loaded.maxRssBytes,
    baselineRssBytes: baseline.maxRssBytes,
    loadPeakOverFloat32: extra / f32,
  };
  console.log(JSON.stringify(result));
  console.log(
    `${values.shape} (${(loaded.params / 1e6).toFixed(0)}M parameters, bf16 in 4 shards): peak RSS ${gb(loaded.maxRssBytes)} GiB, ${gb(extra)} GiB above a process that only loaded the backend = ${result.loadPeakOverFloat32.toFixed(2)}× the float32 size (${gb(f32)} GiB)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
