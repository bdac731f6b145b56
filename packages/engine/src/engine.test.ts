// The engine path end to end on loopback: `startServer` over a tiny model, the client against it (directly
// and through a fault-injecting proxy), weight pushes in both flavours, and scoring from prompt_logprobs.
// Expected values come from independent computations: the model's own await generate() and float64 loops over
// its logits.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadBackend, readArray, tf } from '@rmt/backend';
import { ByteTokenizer, generate, LlamaModel, parseLlamaConfig, saveModel } from '@rmt/model';
import {
  EngineResponseError,
  EngineUnavailableError,
  OpenAIEngineClient,
  rolloutEngineConfigSchema,
  scoreSitesOnEngine,
  StaleWeightsError,
  startServer,
  topKEntropyOfRecord,
  VERSION_FILE,
  type RunningServer,
} from './index.js';
import { startFaultProxy, type FaultProxy } from './test-helpers.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-engine-'));
const tokenizer = new ByteTokenizer();
const config = parseLlamaConfig({
  dim: 16,
  nLayers: 1,
  nHeads: 2,
  nKvHeads: 1,
  hiddenDim: 32,
  vocabSize: tokenizer.vocabSize,
  maxSeqLen: 64,
});
let model: LlamaModel;
let server: RunningServer;
let proxy: FaultProxy;
const fast = { sleep: async () => undefined };

function settings(over: Record<string, unknown> = {}) {
  return rolloutEngineConfigSchema.parse({
    engine: 'openai',
    baseUrl: proxy.url,
    model: 'tiny',
    retries: { attempts: 2, backoffMs: 1 },
    timeoutMs: 2000,
    ...over,
  });
}

const prompts = [
  [5, 9, 12, 40],
  [7, 7, 30, 2],
];
const params = { n: 3, maxTokens: 6, temperature: 0, stopTokenIds: [], seed: 11, vocabSize: tokenizer.vocabSize };

beforeAll(async () => {
  await loadBackend('cpu');
  model = LlamaModel.init(config, { seed: 3, std: 0.5 });
  await saveModel(join(root, 'base'), model, tokenizer);
  server = await startServer({ model: join(root, 'base'), servedModelName: 'tiny', port: 0 });
  proxy = await startFaultProxy(server.url);
});
beforeEach(() => {
  if (proxy) proxy.fault = () => ({ kind: 'pass' });
});
afterAll(async () => {
  await proxy?.close();
  await server?.close();
  model?.dispose();
  rmSync(root, { recursive: true, force: true });
});

describe('rmt serve (startServer)', () => {
  it('answers /health and lists its model at /v1/models', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
  });

  it('orders choices p·n + j, with the greedy tokens and log-probs of await generate()', async () => {
    const client = await OpenAIEngineClient.connect(settings(), fast);
    const out = await client.complete(prompts, params);
    expect(out.tokens).toHaveLength(6);
    for (const [i, p] of prompts.entries()) {
      const ref = await generate(model, [p], { maxNewTokens: 6, temperature: 0 });
      for (let j = 0; j < 3; j++) {
        expect(out.tokens[i * 3 + j]).toEqual(ref.tokens[0]);
        out.logProbs[i * 3 + j]!.forEach((lp, t) => expect(lp).toBeCloseTo(ref.logProbs[0]![t]!, 5));
      }
    }
    const raw = (await (
      await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'tiny', prompt: prompts, n: 2, max_tokens: 2, temperature: 0 }),
      })
    ).json()) as { choices: { index: number }[] };
    expect(raw.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
  });

  it('samples reproducibly from the seed, each sample of a prompt from its own stream', async () => {
    const client = await OpenAIEngineClient.connect(settings(), fast);
    const sampled = { ...params, n: 4, maxTokens: 8, temperature: 1 };
    const a = await client.complete(prompts, sampled);
    const b = await client.complete(prompts, sampled);
    expect(a.tokens).toEqual(b.tokens);
    expect(new Set(a.tokens.slice(0, 4).map((t) => t.join(','))).size).toBeGreaterThan(1);
  });

  it('gives vLLM-shaped prompt_logprobs: null first, then the top k (rank ≤ k) and the own token, matching float64 log-softmax', async () => {
    const k = 5;
    const window = [3, 50, 60, 70, 80, 90];
    const res = (await (
      await fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'tiny', prompt: [window], max_tokens: 1, prompt_logprobs: k }),
      })
    ).json()) as {
      choices: { prompt_logprobs: (Record<string, { logprob: number; rank: number }> | null)[] }[];
    };
    const records = res.choices[0]!.prompt_logprobs;
    expect(records).toHaveLength(window.length);
    expect(records[0]).toBeNull();
    const logits = (
      await readArray<number[][][]>(tf.tidy(() => model.forward(tf.tensor2d([window], undefined, 'int32'))))
    )[0]!;
    for (let t = 1; t < window.length; t++) {
      const row = logits[t - 1]!;
      const max = Math.max(...row);
      const logZ = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
      const order = row.map((_, i) => i).sort((a, b) => row[b]! - row[a]!);
      const record = records[t]!;
      for (let r = 0; r < k; r++) {
        expect(record[String(order[r])]!.rank).toBe(r + 1);
        expect(record[String(order[r])]!.logprob).toBeCloseTo(row[order[r]!]! - logZ, 4);
      }
      const own = record[String(window[t])]!;
      expect(own.logprob).toBeCloseTo(row[window[t]!]! - logZ, 4);
      expect(own.rank).toBe(order.indexOf(window[t]!) + 1);
      // RPT's top-k entropy, renormalised over the k most likely tokens (float64 here).
      const top = order.slice(0, k).map((i) => row[i]!);
      const m = Math.max(...top);
      const z = m + Math.log(top.reduce((s, x) => s + Math.exp(x - m), 0));
      expect(topKEntropyOfRecord(record, k)).toBeCloseTo(-top.reduce((h, x) => h + Math.exp(x - z) * (x - z), 0), 4);
    }
  });

  it('refuses what it cannot serve, naming the field; bounds the body; needs a key off loopback', async () => {
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/completions`, {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const bad = await post({ model: 'tiny', prompt: [1, 2], n: 0 });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/n:/);
    expect((await post({ model: 'other', prompt: [1, 2] })).status).toBe(404);
    expect(JSON.stringify(await (await post({ model: 'tiny', prompt: [1, 9999] })).json())).toMatch(
      /9999 is outside the vocabulary/,
    );
    expect((await post('{not json')).status).toBe(400);
    const small = await startServer({ model: join(root, 'base'), port: 0, maxBodyBytes: 100 });
    try {
      expect(
        (
          await fetch(`${small.url}/v1/completions`, {
            method: 'POST',
            body: JSON.stringify({ model: 'x', prompt: new Array(200).fill(1) }),
          })
        ).status,
      ).toBe(413);
    } finally {
      await small.close();
    }
    await expect(startServer({ model: join(root, 'base'), host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /0\.0\.0\.0 is not a loopback address.*--api-key-env/,
    );
    const keyed = await startServer({
      model: join(root, 'base'),
      port: 0,
      servedModelName: 'tiny',
      apiKeyEnv: 'RMT_TEST_KEY',
      env: { RMT_TEST_KEY: 'secret' },
    });
    try {
      expect((await fetch(`${keyed.url}/v1/models`)).status).toBe(401);
      expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
      const client = await OpenAIEngineClient.connect(
        { ...settings(), baseUrl: keyed.url, apiKeyEnv: 'RMT_TEST_KEY' },
        { ...fast, env: { RMT_TEST_KEY: 'secret' } },
      );
      expect((await client.complete([prompts[0]!], { ...params, n: 1 })).tokens).toHaveLength(1);
    } finally {
      await keyed.close();
    }
  });
});

describe('the client', () => {
  it('names the URL when the engine is unreachable at start, and a model the engine does not serve', async () => {
    const gone = await startServer({ model: join(root, 'base'), port: 0 });
    const url = gone.url;
    await gone.close();
    const retries: string[] = [];
    const err = await OpenAIEngineClient.connect(
      { ...settings(), baseUrl: url },
      { ...fast, onRetry: (m) => retries.push(m) },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect((err as Error).message).toContain(`${url}/v1/models`);
    expect((err as Error).message).toMatch(/unreachable.*gave up after 3 attempts/);
    expect(retries).toHaveLength(2);
    await expect(OpenAIEngineClient.connect(settings({ model: 'nope' }), fast)).rejects.toThrow(
      /serves 'tiny', not 'nope'/,
    );
  });

  it('retries 5xx, dropped connections and timeouts with backoff, then gives up naming the URL', async () => {
    const client = await OpenAIEngineClient.connect(settings({ timeoutMs: 300 }), fast);
    const ok = (await client.complete([prompts[0]!], { ...params, n: 1 })).tokens;
    for (const fault of [{ kind: 'status', code: 503 }, { kind: 'drop' }, { kind: 'delay', ms: 1000 }] as const) {
      let calls = 0;
      proxy.fault = (path) => (path === '/v1/completions' && ++calls === 1 ? fault : { kind: 'pass' });
      expect((await client.complete([prompts[0]!], { ...params, n: 1 })).tokens).toEqual(ok);
      expect(calls).toBe(2);
    }
    proxy.fault = (path) => (path === '/v1/completions' ? { kind: 'status', code: 500 } : { kind: 'pass' });
    await expect(client.complete([prompts[0]!], { ...params, n: 1 })).rejects.toThrow(
      new RegExp(`${proxy.url}/v1/completions: HTTP 500.*gave up after 3 attempts`),
    );
    proxy.fault = () => ({ kind: 'pass' });
  });

  it('refuses malformed, oversized and mismatched answers at once (no retry), never returning them', async () => {
    const client = await OpenAIEngineClient.connect(settings({ maxResponseBytes: 4096 }), fast);
    const choices = (f: (c: Record<string, unknown>[]) => unknown) => (json: Record<string, unknown>) => ({
      ...json,
      choices: f(json.choices as Record<string, unknown>[]),
    });
    const cases: [string, (json: Record<string, unknown>) => unknown, RegExp][] = [
      ['wrong count', choices((c) => c.slice(1)), /2 choices for 1 prompt\(s\) × n = 3/],
      [
        'token outside the vocabulary',
        choices((c) =>
          c.map((x, i) => (i === 1 ? { ...x, token_ids: [...(x.token_ids as number[]).slice(1), 100000] } : x)),
        ),
        /token id 100000, outside the vocabulary of 259/,
      ],
      ['wrong model', (json) => ({ ...json, model: 'other' }), /answered for model 'other', expected 'tiny'/],
      ['duplicate index', choices((c) => c.map((x) => ({ ...x, index: 0 }))), /choice indices must be 0…2 once each/],
      [
        'missing log-probs',
        choices((c) => c.map((x) => ({ ...x, logprobs: null }))),
        /one finite log-prob ≤ 0 per token/,
      ],
      ['not JSON-shaped', () => ({ nothing: true }), /malformed answer: model/],
    ];
    for (const [what, f, message] of cases) {
      let calls = 0;
      proxy.fault = (path) => (path === '/v1/completions' ? (calls++, { kind: 'mutate', f }) : { kind: 'pass' });
      const err = await client.complete([prompts[0]!], params).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(EngineResponseError);
      expect((err as Error).message, what).toMatch(message);
      expect(calls, what).toBe(1);
    }
    proxy.fault = (path) => (path === '/v1/completions' ? { kind: 'huge', bytes: 10_000 } : { kind: 'pass' });
    await expect(client.complete([prompts[0]!], params)).rejects.toThrow(
      /more than 4096 bytes is over midtrain.rollout.maxResponseBytes/,
    );
    proxy.fault = () => ({ kind: 'pass' });
  });

  for (const flavor of ['vllm', 'sglang'] as const) {
    it(`pushes weights through disk (${flavor}): atomic version folders, the engine reloads, generations follow`, async () => {
      const weightsDir = join(root, `weights-${flavor}`);
      const client = await OpenAIEngineClient.connect(settings({ flavor }), { ...fast, weightsDir });
      const trained = LlamaModel.init(config, { seed: flavor === 'vllm' ? 8 : 9, std: 0.5 });
      try {
        await client.pushWeights(trained, tokenizer, 1);
        await client.pushWeights(trained, tokenizer, 2);
        expect(server.version()).toBe('2');
        // Only the newest version folder is kept; it is complete (marker written last, no temporary folders).
        expect(readdirSync(weightsDir)).toEqual(['v00000002']);
        expect(existsSync(join(weightsDir, 'v00000002', VERSION_FILE))).toBe(true);
        const out = await client.complete([prompts[0]!], { ...params, n: 1 });
        expect(out.tokens[0]).toEqual(
          (await generate(trained, [prompts[0]!], { maxNewTokens: 6, temperature: 0 })).tokens[0],
        );
        // Reloaded behind the client's back (here: the base, which has no version): its answers are refused.
        await fetch(`${server.url}/update_weights_from_disk`, {
          method: 'POST',
          body: JSON.stringify({ model_path: join(root, 'base') }),
        });
        await expect(client.complete([prompts[0]!], { ...params, n: 1 })).rejects.toThrow(StaleWeightsError);
      } finally {
        trained.dispose();
      }
    });
  }
});

describe('scoring on the engine', () => {
  it('scores each site from prompt_logprobs, caches under the given key, and pushes first only on a miss', async () => {
    const client = await OpenAIEngineClient.connect(settings(), fast);
    const windows = [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13, 14, 15, 16],
    ];
    const sites = [
      { window: 1, position: 3 },
      { window: 0, position: 7 },
      { window: 1, position: 1 },
    ];
    let before = 0;
    const options = {
      k: 4,
      batch: 1,
      vocabSize: tokenizer.vocabSize,
      cacheDir: join(root, 'cache'),
      key: 'abc',
      before: async () => void before++,
    };
    const first = await scoreSitesOnEngine(client, windows, sites, options);
    expect(first.cached).toBe(false);
    expect(before).toBe(1);
    const logits = await readArray<number[][][]>(
      tf.tidy(() => model.forward(tf.tensor2d(windows, undefined, 'int32'))),
    );
    sites.forEach((s, i) => {
      const row = logits[s.window]![s.position - 1]!;
      const top = [...row].sort((a, b) => b - a).slice(0, 4);
      const m = top[0]!;
      const z = m + Math.log(top.reduce((acc, x) => acc + Math.exp(x - m), 0));
      expect(first.entropies[i]).toBeCloseTo(-top.reduce((h, x) => h + Math.exp(x - z) * (x - z), 0), 4);
    });
    const again = await scoreSitesOnEngine(
      { promptLogprobs: () => Promise.reject(new Error('not asked')) },
      windows,
      sites,
      options,
    );
    expect(again).toEqual({ entropies: first.entropies, cached: true });
    expect(before).toBe(1);
  });
});

describe('config', () => {
  it('needs the address and model with engine openai, refuses server keys with local, and takes a key only by name', async () => {
    const issues = (x: unknown) => {
      const r = rolloutEngineConfigSchema.safeParse(x);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ engine: 'openai' })).toEqual([
      expect.stringMatching(/^baseUrl: required/),
      expect.stringMatching(/^model: required/),
    ]);
    expect(issues({ baseUrl: 'http://127.0.0.1:8000' })).toEqual([
      expect.stringMatching(/^baseUrl: set, but engine is 'local'/),
    ]);
    expect(issues({ engine: 'openai', baseUrl: 'http://h:1', model: 'm', apiKeyEnv: 'sk-123' })[0]).toMatch(
      /^apiKeyEnv: must be the NAME/,
    );
    expect(issues({ engine: 'openai', baseUrl: 'ftp://h', model: 'm' })[0]).toMatch(/^baseUrl/);
    expect(issues({ tis: { cap: 0.5 } })[0]).toMatch(/^tis.cap/);
    expect(issues({ scoring: 'engine' })[0]).toMatch(/^scoring: 'engine' needs engine: openai/);
    expect(issues({ bogus: 1 })[0]).toMatch(/bogus/);
  });
});
