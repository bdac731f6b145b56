// Mid-training on an inference engine, end to end on the `tiny` preset: `rmt serve`'s server on a loopback
// port (the OS picks it) behind a fault-injecting proxy (a stable address, like a load balancer). A run
// with engine: openai learns like engine: local (same metrics, site entropies from prompt_logprobs equal
// to the local scorer's); the server killed mid-run stops the run with its newest checkpoint kept, and
// `rmt resume` continues it once a server is back.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, VERSION_FILE, type RunningServer } from '@rmt/engine';
import { loadModel } from '@rmt/model';
import { startFaultProxy, type FaultProxy } from '../../../packages/engine/src/test-helpers.js';
import { captureCli } from './test-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-engine-e2e-'));
let server: RunningServer | undefined;
let proxy: FaultProxy;
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const rmt = (...args: string[]) => captureCli(['--backend', 'wasm', ...args]);

const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number>);

const cacheFile = (dir: string, engine: boolean) =>
  readdirSync(join(dir, 'cache', 'entropy')).filter((n) => n.startsWith('entropy-engine-') === engine);

describe('mid-training on an engine (rmt serve)', () => {
  const base = join(root, 'pretrain', 'model');
  let args: string[];
  beforeAll(async () => {
    const { code, stderr } = await rmt('pretrain', '--preset', 'tiny', '--out', join(root, 'pretrain'), '--quiet');
    expect(code, stderr).toBe(0);
    server = await startServer({ model: base, servedModelName: 'tiny', port: 0 });
    proxy = await startFaultProxy(server.url);
    args = ['--preset', 'tiny', '--set', `base=${base}`, '--quiet'];
  });

  it('learns like engine: local — same metrics, entropies from prompt_logprobs, weights pushed through disk', async () => {
    const local = join(root, 'local');
    const engine = join(root, 'engine');
    expect((await rmt('midtrain', ...args, '--out', local)).code).toBe(0);
    const onEngine = [
      '--set',
      'midtrain.rollout.engine=openai',
      '--set',
      `midtrain.rollout.baseUrl=${proxy.url}`,
      '--set',
      'midtrain.rollout.model=tiny',
    ];
    const { code, stderr } = await rmt('midtrain', ...args, ...onEngine, '--out', engine);
    expect(code, stderr).toBe(0);
    const [l, e] = [metrics(local), metrics(engine)];
    expect(e.map((m) => m.step)).toEqual([0, 1, 2, 3]);
    // The local run's metric names, each step, plus the engine's own (rollout/logprob_diff, timing/sync).
    e.forEach((m, i) => expect(Object.keys(m)).toEqual(expect.arrayContaining(Object.keys(l[i]!))));
    for (const key of [
      'reward',
      'accuracy',
      'completions/mean_length',
      'loss/rl',
      'loss/ntp',
      'grad_norm',
      'rollout/logprob_diff',
    ])
      expect(
        e.every((m) => Number.isFinite(m[key])),
        key,
      ).toBe(true);
    // The trainer's recomputed log-probs and the engine's differ by numerics only.
    expect(e.every((m) => m['rollout/logprob_diff']! < 1e-3)).toBe(true);
    // Sites scored on the engine, with the local scorer's values (same base weights).
    const [engineScores] = cacheFile(engine, true);
    const [localScores] = cacheFile(local, false);
    const a = JSON.parse(readFileSync(join(engine, 'cache', 'entropy', engineScores!), 'utf8')) as { topK: number[] };
    const b = JSON.parse(readFileSync(join(local, 'cache', 'entropy', localScores!), 'utf8')) as { topK: number[] };
    expect(a.topK.length).toBe(b.topK.length);
    a.topK.forEach((x, i) => expect(x).toBeCloseTo(b.topK[i]!, 3));
    // The newest version of the weights sits complete in the run's engine-weights folder.
    const versions = readdirSync(join(engine, 'engine-weights'));
    expect(versions).toEqual(['v00000003']);
    expect(existsSync(join(engine, 'engine-weights', 'v00000003', VERSION_FILE))).toBe(true);
    // It learned: the trained weights moved away from the base.
    const [trained, start] = [(await loadModel(join(engine, 'model'))).model, (await loadModel(base)).model];
    expect(
      trained.parameters().some((p, i) => p.dataSync().some((v, j) => v !== start.parameters()[i]!.dataSync()[j])),
    ).toBe(true);
    trained.dispose();
    start.dispose();
  }, 240_000);

  it('the server killed mid-run: retries, then the run stops with its checkpoint kept; rmt resume continues', async () => {
    const run = join(root, 'killed');
    const onEngine = [
      '--set',
      'midtrain.rollout.engine=openai',
      '--set',
      `midtrain.rollout.baseUrl=${proxy.url}`,
      '--set',
      'midtrain.rollout.model=tiny',
    ];
    const fast = [
      '--set',
      'midtrain.checkpointEvery=1',
      '--set',
      'midtrain.rollout.retries.attempts=1',
      '--set',
      'midtrain.rollout.retries.backoffMs=10',
    ];
    // Weight pushes are two /collective_rpc calls each: scoring (v0), the start (v0), after step 0 (v1); the
    // seventh call is the push after step 1, by when step 1's checkpoint is written.
    proxy.fault = (path, count) => {
      if (path === '/collective_rpc' && count === 7) void server!.close();
      return { kind: 'pass' };
    };
    proxy.seen.clear();
    const killed = await rmt('midtrain', ...args, ...onEngine, ...fast, '--out', run);
    expect(killed.code).toBe(1);
    expect(killed.stderr).toContain(proxy.url);
    expect(killed.stderr).toMatch(/gave up after 2 attempts.*continue with `rmt resume /);
    expect(readdirSync(join(run, 'checkpoints')).filter((n) => /^step-\d+$/.test(n))).toEqual(['step-000001']);
    server = await startServer({ model: base, servedModelName: 'tiny', port: 0 });
    proxy.target = server.url;
    proxy.fault = () => ({ kind: 'pass' });
    const resumed = await rmt('resume', run, '--quiet');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(metrics(run).map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(server.version()).toBe('3');
  }, 240_000);

  it('an unreachable engine fails before any training, naming the URL', async () => {
    const gone = await startServer({ model: base, port: 0 });
    await gone.close();
    const run = join(root, 'unreachable');
    const { code, stderr } = await rmt(
      'midtrain',
      ...args,
      '--set',
      'midtrain.rollout.engine=openai',
      '--set',
      `midtrain.rollout.baseUrl=${gone.url}`,
      '--set',
      'midtrain.rollout.model=tiny',
      '--set',
      'midtrain.rollout.retries.attempts=0',
      '--out',
      run,
    );
    expect(code).toBe(1);
    expect(stderr).toContain(`${gone.url}/v1/models: unreachable`);
    expect(existsSync(join(run, 'metrics.jsonl')) ? readFileSync(join(run, 'metrics.jsonl'), 'utf8') : '').toBe('');
  });
});
