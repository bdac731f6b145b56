// `npm run bench -- --scale`: four model shapes, from the bench model to SmolLM2-135M's, on every backend
// present and in PyTorch (bench/torch_scale.py) in the same invocation. Each shape × backend runs in its own
// process (bench/scale-child.mjs): a fresh heap, a peak RSS of its own, and a failure that ends only that run.
// Prints train-step and KV-cached decode times with their spread, ratios to PyTorch, peak RSS per parameter,
// and the fraction of the matmul ceiling (PyTorch's 1024² product on one thread) a train step reaches;
// saves results in bench/results/scale/ (every run kept).
//   npm run bench -- --scale [--reps 3] [--backends wasm,cpu] [--shapes d128,d512] [--no-save]
//   npm run bench -- --tiny      the smallest shape, one short repetition, nothing saved (CI: it runs, never a timing assertion)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { autoOrder, estimateTrainingBytes, formatBytes, gpuDeviceNode, probeBackends } from '@rmt/backend';

const { values } = parseArgs({
  options: {
    scale: { type: 'boolean' },
    tiny: { type: 'boolean', default: false },
    reps: { type: 'string' },
    backends: { type: 'string' },
    shapes: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const here = new URL('.', import.meta.url).pathname;
const tiny = values.tiny;
const log = (s) => process.stderr.write(`${s}\n`);

const decode = { batch: 16, prompt: 16, newTokens: 32 };
const SHAPES = [
  {
    name: 'd128',
    label: 'd128 L4 V512 (8 × 64)',
    model: { dim: 128, nLayers: 4, nHeads: 4, nKvHeads: 4, hiddenDim: 344, vocabSize: 512 },
    batch: 8,
    seqLen: 64,
    decode,
    reps: 10,
    // A d128 step is short enough that V8 is still tiering up tfjs's engine over the first ~20 steps
    // (measured 35–55 ms, then 26–35): warm up as many, on both sides.
    warmup: 20,
  },
  {
    name: 'd256',
    label: 'd256 L6 V4096 (8 × 128)',
    model: { dim: 256, nLayers: 6, nHeads: 4, nKvHeads: 4, hiddenDim: 688, vocabSize: 4096 },
    batch: 8,
    seqLen: 128,
    decode,
    reps: 5,
    warmup: 3,
  },
  {
    name: 'd512',
    label: 'd512 L8 V8192 (8 × 128)',
    model: { dim: 512, nLayers: 8, nHeads: 8, nKvHeads: 8, hiddenDim: 1376, vocabSize: 8192 },
    batch: 8,
    seqLen: 128,
    decode,
    reps: 3,
    warmup: 3,
  },
  {
    name: 'smollm2-135m',
    label: 'SmolLM2-135M shape d576 L30 V49152 (4 × 128)',
    model: { dim: 576, nLayers: 30, nHeads: 9, nKvHeads: 3, hiddenDim: 1536, vocabSize: 49152, ropeTheta: 100000 },
    batch: 4,
    seqLen: 128,
    decode: { ...decode, newTokens: 16 },
    // An RMT-shaped step at this size: 2 sites × 4 rollouts (context 48, 16 reasoning tokens), then the
    // dual-loss update on them and NTP on the sites' windows; one repetition (it takes tens of seconds).
    rmt: { sites: 2, group: 4, ctx: 48, gen: 16 },
    reps: 3,
    // Both sides' first steps fault in gigabytes of fresh memory (17 s, then 12 s, for a 4 s step here; PyTorch
    // 7 s, 6 s, then 3 s): three warm-ups, so the figures are the steady state a long run sees.
    warmup: 3,
  },
];
let shapes = values.shapes ? SHAPES.filter((s) => values.shapes.split(',').includes(s.name)) : SHAPES;
if (tiny) shapes = [{ ...SHAPES[0], decode: { batch: 4, prompt: 8, newTokens: 4 }, reps: 1, warmup: 0 }];

/** Train-step FLOPs (3 × forward; matmuls and attention), for the fraction of the matmul ceiling. */
function trainFlops(s) {
  const { dim: d, nLayers: L, nHeads: h, nKvHeads: kv, hiddenDim: hid, vocabSize: V } = s.model;
  const hd = d / h;
  const matmulParams = L * (d * (h + 2 * kv) * hd + h * hd * d + 3 * d * hid) + d * V;
  const tokens = s.batch * s.seqLen;
  return 3 * (2 * tokens * matmulParams + 4 * tokens * (s.seqLen / 2) * h * hd * L);
}

function run(cmd, args) {
  try {
    return JSON.parse(
      execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 })
        .trim()
        .split('\n')
        .at(-1),
    );
  } catch (error) {
    const out = `${error.stdout ?? ''}`.trim().split('\n').at(-1);
    try {
      return JSON.parse(out);
    } catch {
      return {
        error: `${error.message.split('\n')[0]} ${`${error.stderr ?? ''}`.trim().split('\n').slice(-2).join(' | ')}`,
      };
    }
  }
}

function torchAvailable() {
  if (!existsSync('/usr/bin/python3')) return 'Debian python3 (/usr/bin/python3)';
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3-torch and libopenblas0-pthread (apt-get install python3-torch libopenblas0-pthread)';
  }
}

const probes = await probeBackends();
// A software WebGPU adapter (lavapipe): its rows are reported, not targeted, and `auto` never picks it.
const softwareGpu = probes.find((p) => p.name === 'webgpu')?.adapter?.software === true;
const label = (b) => (b === 'webgpu' && softwareGpu ? 'webgpu (software)' : b);
const backends = values.backends
  ? values.backends.split(',')
  : probes.filter((p) => p.available && (p.name !== 'cpu' || !tiny)).map((p) => p.name);
const torchMissing = torchAvailable();
const results = {
  date: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  /** Backends whose rows are reported, not targeted (a software WebGPU adapter). */
  notTargeted: softwareGpu ? ['webgpu'] : [],
  shapes: [],
};
for (const s of shapes) {
  const reps = values.reps ? Number(values.reps) : s.reps;
  // A decode is a few hundred ms at most: as many repetitions as train steps (at least 3), for a steadier median.
  const decodeReps = tiny ? 1 : Math.max(3, reps);
  const workload = { model: s.model, batch: s.batch, seqLen: s.seqLen };
  const picked = autoOrder(workload).find((b) => backends.includes(b) && !(b === 'webgpu' && softwareGpu));
  const row = { shape: s.name, label: s.label, auto: picked, rmt: s.rmt, runs: {} };
  for (const b of backends) {
    // The cpu backend without @rmt/kernels is plain JavaScript: minutes a step beyond the smallest shape.
    if (b === 'wasm' && !autoOrder(workload).includes('wasm')) {
      const m = estimateTrainingBytes(s.model, s.batch, s.seqLen);
      row.runs[b] = {
        skipped: `refused: a step needs ~${formatBytes(m.total)}, beyond the 4 GiB wasm heap (it aborted here before the estimate)`,
      };
      continue;
    }
    // A software WebGPU adapter (lavapipe) is a numerics path, not a speed path: reported at the smallest
    // shape only (a 135M step on it would take hours).
    if (b === 'webgpu' && s !== shapes[0] && gpuDeviceNode() === false) {
      row.runs[b] = { skipped: 'software WebGPU adapter (no GPU device here): measured at the smallest shape only' };
      continue;
    }
    if (b === 'cpu' && !autoOrder(workload).includes('cpu')) {
      row.runs[b] = { skipped: 'cpu without @rmt/kernels is not tried beyond the wasm heap' };
      continue;
    }
    log(`${s.name} on ${b} …`);
    row.runs[b] = run(process.execPath, [
      `${here}scale-child.mjs`,
      JSON.stringify(s),
      b,
      String(reps),
      String(decodeReps),
    ]);
  }
  if (!torchMissing) {
    log(`${s.name} in PyTorch …`);
    row.torch = run('/usr/bin/python3', [`${here}torch_scale.py`, JSON.stringify(s), String(reps), String(decodeReps)]);
  }
  row.trainFlops = trainFlops(s);
  results.shapes.push(row);
}

const spread = (xs) =>
  xs && xs.length > 1
    ? ` (${Math.min(...xs).toFixed(xs[0] < 10 ? 2 : 0)}–${Math.max(...xs).toFixed(xs[0] < 10 ? 2 : 0)})`
    : '';
const ms = (v, xs) => (v === undefined ? '–' : `${v.toFixed(v < 10 ? 2 : 0)}${spread(xs)}`);
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
if (values.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
else {
  console.log(
    `\nshape / backend                     train ms (min–max)      /torch  decode ms/token (min–max)  /torch  RSS B/param  matmul ceiling`,
  );
  for (const row of results.shapes) {
    const t = row.torch;
    console.log(`${row.label}   auto picks: ${row.auto ?? '–'}`);
    for (const [b, r] of Object.entries(row.runs)) {
      if (r.skipped || r.error) {
        console.log(`  ${label(b).padEnd(34)}${r.skipped ?? `failed: ${r.error}`}`);
        continue;
      }
      const ceiling =
        t?.matmul_gflops && r.train_ms
          ? `${((100 * row.trainFlops) / (r.train_ms / 1000) / 1e9 / t.matmul_gflops).toFixed(0)}%`
          : '–';
      const perParam = r.peak_rss && r.parameters ? (r.peak_rss / r.parameters).toFixed(1) : '–';
      console.log(
        `  ${label(b).padEnd(34)}${ms(r.train_ms, r.train_all_ms).padEnd(24)}${ratio(r.train_ms, t?.train_ms).padEnd(8)}${ms(r.decode_ms, r.decode_all_ms).padEnd(27)}${ratio(r.decode_ms, t?.decode_ms).padEnd(8)}${perParam.padEnd(13)}${ceiling}`,
      );
    }
    if (t && !t.error) {
      const ceiling = `${((100 * row.trainFlops) / (t.train_ms / 1000) / 1e9 / t.matmul_gflops).toFixed(0)}%`;
      console.log(
        `  ${`PyTorch ${t.torch} (${t.threads} thread)`.padEnd(34)}${ms(t.train_ms, t.train_all_ms).padEnd(24)}${''.padEnd(8)}${ms(t.decode_ms, t.decode_all_ms).padEnd(27)}${''.padEnd(8)}${(t.peak_rss / t.parameters).toFixed(1).padEnd(13)}${ceiling}`,
      );
    } else if (t) console.log(`  PyTorch failed: ${t.error}`);
    if (row.rmt) {
      const steps = Object.entries(row.runs).filter(([, r]) => r.rmt_step_ms !== undefined);
      const line = steps
        .map(([b, r]) => `${b} ${(r.rmt_step_ms / 1000).toFixed(1)} s (${ratio(r.rmt_step_ms, t?.rmt_step_ms)})`)
        .join(', ');
      console.log(
        `  RMT step (${row.rmt.sites} sites × ${row.rmt.group}, ${row.rmt.gen} tokens + update): ${line || '–'}; PyTorch ${t?.rmt_step_ms ? `${(t.rmt_step_ms / 1000).toFixed(1)} s` : '–'}`,
      );
    }
  }
  if (softwareGpu && backends.includes('webgpu'))
    console.log(
      `\nwebgpu (software): ${probes.find((p) => p.name === 'webgpu').reason}; reported, not targeted (its shaders run on the CPU)`,
    );
  if (torchMissing) console.log(`\nPyTorch reference not run: missing ${torchMissing}`);
  else {
    const ceilings = results.shapes.map((r) => r.torch?.matmul_gflops).filter(Boolean);
    console.log(
      `\nmatmul ceiling: PyTorch's 1024² product on 1 thread, ${ceilings.map((c) => c.toFixed(0)).join(' / ')} GFLOP/s (measured with each shape); RSS: peak resident memory of the shape's process`,
    );
  }
}
if (!values['no-save'] && !tiny) {
  const dir = `${here}results/scale`;
  mkdirSync(dir, { recursive: true });
  const previous = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .at(-1);
  if (previous && !values.json)
    console.log(
      `previous: bench/results/scale/${previous} (${JSON.parse(readFileSync(`${dir}/${previous}`, 'utf8')).date})`,
    );
  writeFileSync(
    `${dir}/${new Date().toISOString().slice(0, 16).replace(':', '')}.json`,
    `${JSON.stringify(results, null, 2)}\n`,
  );
}
