import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readScalar, readValues, tf } from '@rmt/backend';
import { describeEachBackend } from '@rmt/testing';
import { createRng } from '@rmt/core';
import {
  generate,
  LlamaModel,
  loadModel,
  parseLlamaConfig,
  sampleToken,
  saveModel,
  ByteTokenizer,
  type LlamaConfigInput,
} from './index.js';

const base: LlamaConfigInput = {
  dim: 32,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  hiddenDim: 48,
  vocabSize: 40,
  maxSeqLen: 32,
};

/** Greedy decoding by full recomputation (no cache, no padding): the reference for the cached path. */
async function greedyUncached(model: LlamaModel, prompt: number[], steps: number): Promise<number[]> {
  const ids = [...prompt];
  for (let i = 0; i < steps; i++) {
    const next = await readScalar(
      tf.tidy(() => {
        const logits = model.forward(tf.tensor2d([ids], undefined, 'int32'));
        return tf.argMax(model.lastLogProbs(logits), -1);
      }),
    );
    ids.push(next);
  }
  return ids.slice(prompt.length);
}

describeEachBackend('LlamaModel', () => {
  for (const positionEncoding of ['rope', 'learned'] as const) {
    it(`KV-cached batched generation equals uncached recomputation (${positionEncoding}, GQA, ragged prompts)`, async () => {
      // A larger init std gives peaked, input-dependent logits, so a wrong cache or mask changes tokens.
      const start = tf.memory().numTensors;
      const tied = positionEncoding === 'rope';
      const model = LlamaModel.init(parseLlamaConfig({ ...base, positionEncoding, tieEmbeddings: tied }), {
        seed: 3,
        std: 0.3,
      });
      const prompts = [[5, 6, 7, 8, 9, 10], [11], [12, 13, 14]];
      const before = tf.memory().numTensors;
      const cached = await generate(model, prompts, { maxNewTokens: 10, temperature: 0 });
      // The KV cache is freed; a tied head keeps one transposed embedding, owned by the model.
      expect(tf.memory().numTensors).toBe(before + (tied ? 1 : 0));
      for (const [i, p] of prompts.entries()) expect(cached.tokens[i]).toEqual(await greedyUncached(model, p, 10));
      // Tokens are not all the same (the comparison means something).
      expect(new Set(cached.tokens.flat()).size).toBeGreaterThan(3);
      model.dispose();
      expect(tf.memory().numTensors).toBe(start);
    });
  }

  it('reports log-probabilities consistent with a forward pass, and stops on stop tokens', async () => {
    const model = LlamaModel.init(parseLlamaConfig(base), { seed: 1, std: 0.3 });
    const prompt = [3, 4, 5];
    const out = await generate(model, [prompt], { maxNewTokens: 6, temperature: 1, seed: 7 });
    const full = [...prompt, ...out.tokens[0]!];
    const lp = await readValues(
      tf.tidy(() => {
        const ids = tf.tensor2d([full.slice(0, -1)], undefined, 'int32');
        const targets = tf.tensor2d([full.slice(1)], undefined, 'int32');
        return model.logProbs(ids, targets);
      }),
    );
    out.logProbs[0]!.forEach((v, i) => expect(v).toBeCloseTo(lp[prompt.length - 1 + i]!, 4));
    const stopAt = out.tokens[0]![2]!;
    const stopped = await generate(model, [prompt], { maxNewTokens: 6, temperature: 1, seed: 7, stopTokens: [stopAt] });
    const firstStop = out.tokens[0]!.indexOf(stopAt);
    expect(stopped.tokens[0]).toEqual(out.tokens[0]!.slice(0, firstStop + 1));
    expect(stopped.finishReasons).toEqual(['stop']);
    model.dispose();
  });

  it('sampling is reproducible from a seed and from a saved RNG state; top-k = 1 is greedy', async () => {
    const model = LlamaModel.init(parseLlamaConfig(base), { seed: 2, std: 0.1 });
    const prompts = [[1, 2], [3]];
    const a = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, seed: 42 });
    const b = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, seed: 42 });
    expect(b.tokens).toEqual(a.tokens);
    const rng = createRng(9);
    await generate(model, prompts, { maxNewTokens: 3, temperature: 1, rng });
    const saved = rng.state();
    const c = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, rng });
    const d = await generate(model, prompts, { maxNewTokens: 8, temperature: 1, rng: createRng(saved) });
    expect(d.tokens).toEqual(c.tokens);
    const greedy = await generate(model, prompts, { maxNewTokens: 8, temperature: 0 });
    expect((await generate(model, prompts, { maxNewTokens: 8, temperature: 1.5, topK: 1, seed: 5 })).tokens).toEqual(
      greedy.tokens,
    );
    expect((await generate(model, prompts, { maxNewTokens: 8, temperature: 1.5, topP: 1e-9, seed: 5 })).tokens).toEqual(
      greedy.tokens,
    );
    model.dispose();
  });

  it('per-row token limits and the maxSeqLen guard', async () => {
    const model = LlamaModel.init(parseLlamaConfig(base), { seed: 4 });
    const out = await generate(model, [[1], [2]], { maxNewTokens: [2, 5], temperature: 0 });
    expect(out.tokens.map((t) => t.length)).toEqual([2, 5]);
    await expect(generate(model, [[1, 2, 3]], { maxNewTokens: 30 })).rejects.toThrow(/maxSeqLen 32/);
    model.dispose();
  });

  it('masked log-probs are zero at masked positions and the NTP loss is their masked mean', async () => {
    const model = LlamaModel.init(parseLlamaConfig(base), { seed: 5 });
    const ids = tf.tensor2d([[1, 2, 3, 4]], undefined, 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 0, 1, 1]]);
    const all = await model.logProbs(ids, targets).data();
    const masked = await model.logProbs(ids, targets, mask).data();
    expect(Array.from(masked)).toEqual([all[0], 0, all[2], all[3]]);
    expect((await model.nextTokenLoss(ids, targets, mask).data())[0]).toBeCloseTo(
      -(all[0]! + all[2]! + all[3]!) / 3,
      5,
    );
    tf.dispose([ids, targets, mask]);
    model.dispose();
  });
});

it('save → load is bit-exact (weights, config, tokenizer), untied and learned positions included', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmt-ckpt-'));
  try {
    const model = LlamaModel.init(
      parseLlamaConfig({ ...base, positionEncoding: 'learned', tieEmbeddings: false, vocabSize: 259 }),
      { seed: 8 },
    );
    const tokenizer = new ByteTokenizer(['<pad>', '<s>', '</s>']);
    await saveModel(dir, model, tokenizer);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    // Learned positions are not Llama's RoPE: their own architecture name, so transformers never mis-loads them.
    expect(config).toMatchObject({
      architectures: ['RmtLearnedPositionsForCausalLM'],
      model_type: 'rmt-learned-pos',
      hidden_size: 32,
      num_key_value_heads: 2,
      tie_word_embeddings: false,
    });
    const loaded = await loadModel(dir);
    expect(loaded.model.config).toEqual(model.config);
    const a = (await Promise.all(model.parameters().map((p) => p.data()))).map((v) => Array.from(v));
    const b = (await Promise.all(loaded.model.parameters().map((p) => p.data()))).map((v) => Array.from(v));
    expect(b).toEqual(a);
    expect(loaded.tokenizer?.toJSON()).toEqual(tokenizer.toJSON());
    model.dispose();
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('rejects inconsistent configs naming the field', async () => {
  expect(() => parseLlamaConfig({ ...base, nKvHeads: 3 })).toThrow(/nKvHeads: nHeads 4 is not divisible by nKvHeads 3/);
  expect(() => parseLlamaConfig({ ...base, dim: -1 })).toThrow(/dim:/);
  expect(() => parseLlamaConfig({ ...base, extra: 1 })).toThrow(/extra/);
});

it('initialisation is reproducible from a seed, seed 0 included', async () => {
  const a = LlamaModel.init(parseLlamaConfig(base), { seed: 0 });
  const b = LlamaModel.init(parseLlamaConfig(base), { seed: 0 });
  expect(Array.from(await b.parameters()[0]!.data())).toEqual(Array.from(await a.parameters()[0]!.data()));
  a.dispose();
  b.dispose();
});

it('init, save → load and dispose leave no tensor behind', async () => {
  const before = tf.memory().numTensors;
  const model = LlamaModel.init(parseLlamaConfig(base), { seed: 3 });
  const dir = mkdtempSync(join(tmpdir(), 'rmt-leak-'));
  try {
    await saveModel(dir, model);
    const loaded = await loadModel(dir);
    loaded.model.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
});

it('sampleToken draws with softmax(logits / T) probabilities, and top-k / top-p renormalise the kept tokens', async () => {
  const row = new Float32Array([0, Math.log(2), Math.log(3), -Infinity]);
  const draws = 12_000;
  const frequencies = (options: Parameters<typeof sampleToken>[1]) => {
    const rng = createRng(11);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < draws; i++) counts[sampleToken(row, options, rng).token]!++;
    return counts.map((c) => c / draws);
  };
  // Hand-computed: p ∝ (1, 2, 3, 0); at T = 0.5, p ∝ (1, 4, 9, 0); top-2 keeps (2, 3); top-p 0.4 keeps the mode.
  const cases: [Parameters<typeof sampleToken>[1], number[]][] = [
    [{ temperature: 1 }, [1 / 6, 2 / 6, 3 / 6, 0]],
    [{ temperature: 0.5 }, [1 / 14, 4 / 14, 9 / 14, 0]],
    [{ temperature: 1, topK: 2 }, [0, 2 / 5, 3 / 5, 0]],
    [{ temperature: 1, topP: 0.4 }, [0, 0, 1, 0]],
  ];
  for (const [options, expected] of cases) {
    frequencies(options).forEach((f, i) =>
      expect(Math.abs(f - expected[i]!), `${JSON.stringify(options)} token ${i}`).toBeLessThanOrEqual(
        4 * Math.sqrt((expected[i]! * (1 - expected[i]!)) / draws) + 1e-9,
      ),
    );
  }
  // The reported log-probability is under temperature 1 and no filtering: log(3/6) for token 2.
  expect(sampleToken(row, { temperature: 0 }, createRng(1))).toEqual({
    token: 2,
    logProb: expect.closeTo(Math.log(0.5), 6),
  });
});
