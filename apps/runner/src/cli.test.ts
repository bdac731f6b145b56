import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { autoOrder, probeBackends } from '@rmt/backend';
import { describeOrSkip, itOrSkip, sharedData, sharedDataSkip } from '@rmt/testing';
import { claims } from './claims.js';
import { captureCli } from './test-cli.js';

const native = (await probeBackends()).find((p) => p.name === 'tensorflow');

/** Run `rmt …` in-process and capture what it prints. */
const rmt = (...args: string[]) => captureCli(args);

afterEach(() => vi.restoreAllMocks());

describe('rmt info', () => {
  it('--json lists every backend with its availability and the pick', async () => {
    const { code, stdout } = await rmt('info', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      backends: { name: string; available: boolean; reason: string; adapter?: { software: boolean } }[];
      picked: string;
    };
    expect(report.backends.map((b) => b.name)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    const available = Object.fromEntries(report.backends.map((b) => [b.name, b.available]));
    expect(available.wasm).toBe(true);
    expect(available.cpu).toBe(true);
    // This machine kind has no CUDA: the GPU package cannot be present and working.
    expect(available['tensorflow-gpu']).toBe(false);
    expect(report.backends[0]!.reason).toMatch(/npm install @tensorflow\/tfjs-node-gpu/);
    // auto: the first loadable of its order (wasm before tensorflow when @rmt/kernels compiled), never a
    // software WebGPU adapter (lavapipe, on the CPU).
    const software = report.backends.find((b) => b.name === 'webgpu')?.adapter?.software ?? false;
    expect(report.picked).toBe(autoOrder().find((name) => available[name] && !(name === 'webgpu' && software)));
  });

  // Native code writes to the process's stderr directly, so this one runs the built CLI as a child process.
  const cli = fileURLToPath(new URL('../bin/rmt.js', import.meta.url));
  const nativeSkip = !native?.available
    ? '@tensorflow/tfjs-node not installed'
    : !existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)))
      ? 'the CLI is not built'
      : undefined;
  itOrSkip('loads native TensorFlow without its C++ start-up log lines', nativeSkip, () => {
    const run = spawnSync(process.execPath, [cli, 'info'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/tensorflow\s+available/);
    expect(run.stderr).not.toMatch(/oneDNN|absl::InitializeLog|cpu_feature_guard/);
  });

  it('an unknown backend is a clear error listing the valid ones', async () => {
    const { code, stderr } = await rmt('--backend', 'tpu', 'generate', '--model', 'x', '--prompt', 'y');
    expect(code).toBe(1);
    expect(stderr).toMatch(/Unknown backend 'tpu'; valid names: auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu/);
  });
});

describeOrSkip('rmt generate / score on stories260K', sharedDataSkip, () => {
  const model = sharedData('stories260k/stories260K.bin');
  it('generate --greedy --json prints the story', async () => {
    const { code, stdout } = await rmt(
      '--backend',
      'wasm',
      'generate',
      '--model',
      model,
      '--prompt',
      'Once upon a time',
      '--max-tokens',
      '30',
      '--greedy',
      '--json',
    );
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as { text: string; tokens: number[]; finish_reason: string };
    expect(out.text).toMatch(/^Once upon a time, there was a little girl named Lily\./);
    expect(out.tokens).toHaveLength(30);
    expect(out.finish_reason).toBe('length');
  });

  it('score --json prints tokens, top1, loss and entropy', async () => {
    const text = sharedData('tinystories-sample/tinystories_sample.txt');
    const { code, stdout } = await rmt('--backend', 'wasm', 'score', '--model', model, '--text', text, '--json');
    expect(code).toBe(0);
    const score = JSON.parse(stdout) as Record<string, number>;
    expect(Object.keys(score).sort()).toEqual(['entropy', 'loss', 'tokens', 'top1']);
    expect(score.tokens).toBeGreaterThan(1000);
    expect(score.top1).toBeGreaterThan(0.4);
    expect(score.loss).toBeGreaterThan(0);
  });

  it('eval --no-reasoning prints NTP-mode accuracy per entropy split of the TinyStories sample', async () => {
    const text = sharedData('tinystories-sample/tinystories_sample.txt');
    const out = join(tmpdir(), `rmt-eval-${process.pid}`);
    const { code, stdout, stderr } = await rmt(
      '--backend',
      'wasm',
      'eval',
      '--model',
      model,
      '--no-reasoning',
      '--json',
      '--out',
      out,
      '--set',
      `data.corpus.path=${text}`,
      '--set',
      'data.sitesAfter=null',
      '--set',
      'data.windowLength=64',
      '--set',
      'data.format=llm-text',
    );
    rmSync(out, { recursive: true, force: true });
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as {
      splits: Record<string, { sites: number; ntpAccuracy: number }>;
      average: { ntpAccuracy: number };
    };
    expect(result.splits.easy!.sites).toBeGreaterThan(result.splits.hard!.sites);
    expect(result.splits.hard!.sites).toBeGreaterThan(10);
    // Harder (higher-entropy) splits are predicted less often: the splits mean something.
    expect(result.splits.easy!.ntpAccuracy).toBeGreaterThan(result.splits.hard!.ntpAccuracy);
  });

  it('a missing model file is one clear line', async () => {
    const { code, stderr } = await rmt('generate', '--model', '/nonexistent/model.bin', '--prompt', 'x');
    expect(code).toBe(1);
    expect(stderr).toBe('rmt: /nonexistent/model.bin: no such file or folder\n');
  });
});

describe('the published claims table', () => {
  const method = (average: number, length: number, after: number) => ({
    mode: 'reasoning' as const,
    accuracy: { easy: average, medium: average, hard: average, average },
    accuracy_ci: {
      easy: { low: 0, high: 1 },
      medium: { low: 0, high: 1 },
      hard: { low: 0, high: 1 },
      average: { low: 0, high: 1 },
    },
    accuracy_ntp_mode: { easy: 0, medium: 0, hard: 0, average: 0 },
    accuracy_reasoning_mode: { easy: average, medium: average, hard: average, average },
    reasoning_length: length,
    posttrain: { before: 0, after },
  });
  const results = (over: Record<string, ReturnType<typeof method>>) => ({
    seeds: [0],
    sites: { easy: 1, medium: 1, hard: 1 },
    methods: {
      base: method(0.1, 20, 0.5),
      ntp: method(0.1, 20, 0.55),
      rpt: method(0.5, 20, 0.6),
      rmt: method(0.7, 4, 0.7),
      'rmt-no-budget': method(0.6, 15, 0.6),
      'rmt-no-curriculum': method(0.65, 4, 0.6),
      'rmt-no-ntp': method(0.55, 4, 0.6),
      ...over,
    },
  });

  it('holds when the paper’s comparisons hold, with the ratios computed by hand', () => {
    const c = claims(results({}));
    expect(c.map((x) => x.holds)).toEqual([true, true, true, true]);
    expect(c[0]!.measured).toBe('1.40× (70.0% vs 50.0%)'); // 0.7 / 0.5
    expect(c[1]!.measured).toBe('0.20× (4.0 vs 20.0 tokens)'); // 4 / 20
    expect(c[2]!.measured).toBe('most harm first: no-ntp (55.0%) > no-budget (60.0%) > no-curriculum (65.0%)');
  });

  it('says no when they do not', () => {
    const c = claims(results({ rpt: method(0.6, 5, 0.9), 'rmt-no-budget': method(0.8, 4, 0.6) }));
    expect(c.map((x) => x.holds)).toEqual([false, false, false, false]);
    expect(c[0]!.measured).toBe('1.17× (70.0% vs 60.0%)');
  });
});
