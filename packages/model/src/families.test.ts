// Bring-your-own-model: tiny random Hugging Face folders of each supported family (written by
// tools/hf-tiny.mjs into a temp dir) load into logits that match an independent float64 reference of
// transformers' forward pass; every forward-affecting key we do not implement is refused by name; export
// writes a folder the reference (and so transformers) reads into the same logits.
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { logSoftmax, readArray, readScalar, tf } from '@rmt/backend';
import { readSafetensors } from '@rmt/core';
import { describeEachBackend } from '@rmt/testing';
import { writeTinyHfFolder, type TinyFamily } from '../../../tools/hf-tiny.mjs';
import { fromHfConfig, LlamaModel, loadModel, parseLlamaConfig, saveModel, toHfConfig } from './index.js';
import { referenceLogProbs, type RefTensor } from './reference/hf-reference.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-families-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folderCount = 0;
const freshDir = () => join(root, `m${++folderCount}`);

interface Case {
  name: string;
  family: TinyFamily;
  dtype: 'f32' | 'bf16' | 'f16';
  shards?: number;
  overrides?: Record<string, unknown>;
  /** A config the reference evaluates to show the case's feature moves the logits (the test can fail). */
  without?: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'Llama 3 (llama3 rope_scaling, explicit head_dim, untied), bf16',
    family: 'llama3',
    dtype: 'bf16',
    without: { rope_scaling: null },
  },
  {
    name: 'SmolLM2 (tied embeddings), bf16, 3 shards',
    family: 'smollm2',
    dtype: 'bf16',
    shards: 3,
    without: { rms_norm_eps: 1e-1 },
  },
  { name: 'Qwen2 (q/k/v biases), f32', family: 'qwen2', dtype: 'f32' },
  {
    name: 'Qwen3 (q_norm/k_norm, head_dim 16 ≠ hidden/heads), bf16, 2 shards',
    family: 'qwen3',
    dtype: 'bf16',
    shards: 2,
  },
  {
    name: 'Llama, linear rope_scaling (legacy "type" key), f16',
    family: 'smollm2',
    dtype: 'f16',
    overrides: { rope_scaling: { type: 'linear', factor: 4.0 }, rope_theta: 10000 },
    without: { rope_scaling: null },
  },
  {
    name: 'Llama, rope_parameters without top-level rope_theta (newer transformers), f32',
    family: 'smollm2',
    dtype: 'f32',
    overrides: {
      rope_scaling: undefined,
      rope_theta: undefined,
      rope_parameters: { rope_type: 'default', rope_theta: 3.0 },
    },
    without: { rope_parameters: null },
  },
  {
    name: 'Llama, gelu_pytorch_tanh + attention_bias + mlp_bias, no rms_norm_eps (HF default 1e-6), bf16',
    family: 'smollm2',
    dtype: 'bf16',
    overrides: {
      hidden_act: 'gelu_pytorch_tanh',
      attention_bias: true,
      mlp_bias: true,
      rms_norm_eps: undefined,
      tie_word_embeddings: false,
    },
    without: { hidden_act: 'silu' },
  },
  {
    name: 'Llama, dynamic rope_scaling (unchanged up to max_position_embeddings), f32',
    family: 'smollm2',
    dtype: 'f32',
    overrides: { rope_scaling: { rope_type: 'dynamic', factor: 2.0 } },
  },
  {
    name: 'Qwen3 with attention_bias (q/k/v and o biases), f32',
    family: 'qwen3',
    dtype: 'f32',
    overrides: { attention_bias: true },
  },
];

const IDS = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 64);

/** max over positions and vocabulary of |a − b| / max(1, |b|): relative where log-probs are large. */
function maxRelError(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((row, t) => {
    for (let v = 0; v < row.length; v++)
      worst = Math.max(worst, Math.abs(row[v]! - b[t]![v]!) / Math.max(1, Math.abs(b[t]![v]!)));
  });
  return worst;
}

async function modelLogProbs(model: LlamaModel, ids: number[]): Promise<Float32Array[]> {
  const out = await readArray<number[][][]>(
    tf.tidy(() => logSoftmax(model.forward(tf.tensor2d([ids], undefined, 'int32')))),
  );
  return out[0]!.map((r) => Float32Array.from(r));
}

const written = new Map<
  string,
  { dir: string; config: Record<string, unknown>; tensors: Map<string, RefTensor>; reference: Float64Array[] }
>();
function folderFor(c: Case) {
  let w = written.get(c.name);
  if (!w) {
    const dir = freshDir();
    const { config, tensors } = writeTinyHfFolder(dir, {
      family: c.family,
      seed: 7,
      dtype: c.dtype,
      shards: c.shards ?? 1,
      overrides: c.overrides ?? {},
    });
    w = { dir, config, tensors, reference: referenceLogProbs(config, tensors, IDS) };
    written.set(c.name, w);
  }
  return w;
}

describeEachBackend('Hugging Face families match a float64 reference of transformers', (backend) => {
  for (const c of CASES) {
    it(c.name, async () => {
      const w = folderFor(c);
      if (c.shards) expect(existsSync(join(w.dir, 'model.safetensors.index.json'))).toBe(true);
      const { model } = await loadModel(w.dir);
      const err = maxRelError(await modelLogProbs(model, IDS), w.reference);
      console.log(`max relative error ${err.toExponential(2)}: ${c.name} [${backend}]`);
      expect(err).toBeLessThanOrEqual(1e-4);
      if (c.without) {
        // The feature under test changes the logits well beyond the tolerance: a loader ignoring it fails.
        const other = referenceLogProbs({ ...w.config, ...c.without }, w.tensors, IDS);
        expect(maxRelError(other, w.reference)).toBeGreaterThan(1e-2);
      }
      // Cached decoding agrees with the full forward for every family (biases, q/k norms, scaled RoPE).
      const prefix = IDS.slice(0, 10);
      const { logits, cache } = model.prefill(tf.tensor2d([prefix], undefined, 'int32'), [0]);
      const step = model.decodeStep(tf.tensor1d([IDS[10]!], 'int32'), cache);
      const viaCache = await readArray(tf.tidy(() => logSoftmax(step.logits)));
      expect(maxRelError([Float32Array.from(viaCache[0]!)], [w.reference[10]!])).toBeLessThanOrEqual(1e-4);
      tf.dispose([logits, step.logits, ...step.cache.keys, ...step.cache.values]);
      model.dispose();
    });
  }

  it('export → reload gives the same logits, and the exported folder reads into them under HF semantics', async () => {
    for (const c of CASES.filter((x) => ['llama3', 'qwen2', 'qwen3'].includes(x.family) || x.overrides?.mlp_bias)) {
      const w = folderFor(c);
      const { model } = await loadModel(w.dir);
      const out = freshDir();
      await saveModel(out, model);
      const exported = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      expect(exported.architectures, c.name).toEqual(w.config.architectures);
      expect(exported.model_type, c.name).toBe(w.config.model_type);
      const again = await loadModel(out);
      expect(again.model.config).toEqual(model.config);
      const a = await modelLogProbs(model, IDS);
      expect(await modelLogProbs(again.model, IDS)).toEqual(a);
      // The exported folder, read by the reference (config.json keys + tensor names, as transformers would).
      const { tensors } = await readSafetensors(join(out, 'model.safetensors'));
      expect(maxRelError(a, referenceLogProbs(exported, tensors, IDS)), c.name).toBeLessThanOrEqual(1e-4);
      model.dispose();
      again.model.dispose();
    }
  });
});

it('learned positions export as their own architecture, never LlamaForCausalLM; old checkpoints still load', async () => {
  const model = LlamaModel.init(
    parseLlamaConfig({
      dim: 16,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 1,
      hiddenDim: 24,
      vocabSize: 20,
      maxSeqLen: 12,
      positionEncoding: 'learned',
    }),
    { seed: 4, std: 0.3 },
  );
  const dir = freshDir();
  await saveModel(dir, model);
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  expect(config).toMatchObject({ architectures: ['RmtLearnedPositionsForCausalLM'], model_type: 'rmt-learned-pos' });
  const ids = [1, 2, 3, 4, 5];
  const expected = await modelLogProbs(model, ids);
  expect(await modelLogProbs((await loadModel(dir)).model, ids)).toEqual(expected);
  // The way RMT wrote it before: LlamaForCausalLM + rmt.positionEncoding (the embedded base still is).
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      ...config,
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      rmt: { positionEncoding: 'learned' },
    }),
  );
  const legacy = await loadModel(dir);
  expect(legacy.model.config.positionEncoding).toBe('learned');
  expect(await modelLogProbs(legacy.model, ids)).toEqual(expected);
  const base = await loadModel(new URL('../../../apps/runner/base-model/', import.meta.url).pathname);
  expect(base.model.config).toMatchObject({ positionEncoding: 'learned', normEps: 1e-5 });
  expect(toHfConfig(base.model.config)).toMatchObject({ architectures: ['RmtLearnedPositionsForCausalLM'] });
  for (const m of [model, legacy.model, base.model]) m.dispose();
});

const tinyConfig = (family: TinyFamily, overrides: Record<string, unknown> = {}) => {
  const dir = freshDir();
  return writeTinyHfFolder(dir, { family, overrides }).config;
};

it('refuses every forward-affecting key it does not implement, naming the key and value', async () => {
  const refusals: [TinyFamily, Record<string, unknown>, RegExp][] = [
    [
      'llama3',
      { rope_scaling: { rope_type: 'yarn', factor: 4.0 } },
      /rope_scaling\.rope_type' = "yarn".*supported RoPE types: default, linear, dynamic, llama3/,
    ],
    [
      'llama3',
      { rope_scaling: { rope_type: 'longrope', short_factor: [1], long_factor: [1] } },
      /rope_scaling\.rope_type' = "longrope"/,
    ],
    [
      'llama3',
      {
        rope_scaling: {
          rope_type: 'llama3',
          factor: 8.0,
          high_freq_factor: 4.0,
          original_max_position_embeddings: 256,
        },
      },
      /rope_scaling\.low_freq_factor' = undefined/,
    ],
    [
      'llama3',
      {
        rope_scaling: {
          rope_type: 'llama3',
          factor: 8.0,
          low_freq_factor: 1.0,
          high_freq_factor: 4.0,
          original_max_position_embeddings: 256,
          attention_factor: 2,
        },
      },
      /rope_scaling\.attention_factor' = 2/,
    ],
    [
      'smollm2',
      { rope_scaling: { rope_type: 'dynamic', factor: 2.0, original_max_position_embeddings: 32 } },
      /rope_scaling\.original_max_position_embeddings' = 32/,
    ],
    [
      'smollm2',
      { rope_parameters: { rope_type: 'default', rope_theta: 5 } },
      /rope_parameters\.rope_theta' = 5: disagrees with rope_theta 100000/,
    ],
    ['smollm2', { partial_rotary_factor: 0.5 }, /'partial_rotary_factor' = 0.5/],
    ['smollm2', { hidden_act: 'relu' }, /'hidden_act' = "relu"/],
    ['smollm2', { hidden_act: 'gelu' }, /'hidden_act' = "gelu"/],
    ['smollm2', { attention_dropout: 0.1 }, /'attention_dropout' = 0.1/],
    [
      'smollm2',
      { quantization_config: { bits: 4 } },
      /'quantization_config' = \{"bits":4\}: not a key of model_type 'llama'/,
    ],
    ['smollm2', { auto_map: { AutoModelForCausalLM: 'custom.Model' } }, /'auto_map'/],
    ['smollm2', { sliding_window: 16 }, /'sliding_window' = 16: not a key of model_type 'llama'/],
    [
      'qwen2',
      { use_sliding_window: true, sliding_window: 16, max_window_layers: 0 },
      /'use_sliding_window' = true: qwen2 sliding-window attention \(sliding_window 16 < max_position_embeddings 64/,
    ],
    [
      'qwen3',
      { use_sliding_window: true, sliding_window: 16, layer_types: ['full_attention', 'sliding_attention'] },
      /'use_sliding_window' = true: qwen3 sliding-window/,
    ],
    ['qwen3', { layer_types: ['full_attention'] }, /'layer_types' = \["full_attention"\]: expected 2 entries/],
    ['qwen2', { attention_bias: false }, /'attention_bias' = false/],
    ['qwen2', { mlp_bias: true }, /'mlp_bias' = true: not a key of model_type 'qwen2'/],
  ];
  for (const [family, overrides, message] of refusals) {
    expect(() => fromHfConfig(tinyConfig(family, overrides), 'x/config.json'), JSON.stringify(overrides)).toThrow(
      message,
    );
  }
  // Sliding windows that cannot matter (window ≥ every sequence, or no layer uses it) are accepted.
  expect(() =>
    fromHfConfig(tinyConfig('qwen2', { use_sliding_window: true, sliding_window: 64, max_window_layers: 0 }), 'c'),
  ).not.toThrow();
  expect(() =>
    fromHfConfig(tinyConfig('qwen2', { use_sliding_window: true, sliding_window: 16, max_window_layers: 2 }), 'c'),
  ).not.toThrow();
  // Unknown model types and architectures list what is supported.
  const supported =
    /llama \(LlamaForCausalLM\), qwen2 \(Qwen2ForCausalLM\), qwen3 \(Qwen3ForCausalLM\), rmt-learned-pos \(RmtLearnedPositionsForCausalLM\)/;
  expect(() => fromHfConfig(tinyConfig('smollm2', { model_type: 'mistral' }), 'c')).toThrow(
    /model_type "mistral" is not supported/,
  );
  expect(() => fromHfConfig(tinyConfig('smollm2', { model_type: 'gpt2' }), 'c')).toThrow(supported);
  expect(() => fromHfConfig(tinyConfig('smollm2', { architectures: ['MistralForCausalLM'] }), 'c')).toThrow(
    /architecture 'MistralForCausalLM' does not match model_type 'llama'.*supported: llama/,
  );
  expect(() =>
    fromHfConfig(tinyConfig('smollm2', { model_type: undefined, architectures: ['GPT2LMHeadModel'] }), 'c'),
  ).toThrow(supported);
  // HF defaults where keys are absent: Llama's rms_norm_eps is 1e-6, Qwen3's head_dim 128.
  expect(fromHfConfig(tinyConfig('smollm2', { rms_norm_eps: undefined }), 'c').normEps).toBe(1e-6);
  expect(fromHfConfig(tinyConfig('qwen3', { head_dim: undefined, hidden_size: 256 }), 'c').headDim).toBe(128);
  expect(
    fromHfConfig(
      tinyConfig('llama3', {
        rope_theta: undefined,
        rope_scaling: undefined,
        rope_parameters: {
          rope_type: 'llama3',
          rope_theta: 500000,
          factor: 32,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 256,
        },
      }),
      'c',
    ),
  ).toMatchObject({
    ropeTheta: 500000,
    ropeScaling: { type: 'llama3', factor: 32 },
  });
});

it('toHfConfig refuses switch combinations no Hugging Face family has', async () => {
  const base = { dim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, hiddenDim: 24, vocabSize: 20, maxSeqLen: 12 };
  expect(() => toHfConfig(parseLlamaConfig({ ...base, oBias: true }))).toThrow(/an o bias without q\/k\/v biases/);
  expect(() => toHfConfig(parseLlamaConfig({ ...base, qkNorm: true, mlpBias: true }))).toThrow(
    /qkNorm \(Qwen3\) with mlpBias/,
  );
  expect(toHfConfig(parseLlamaConfig({ ...base, qkvBias: true }))).toMatchObject({
    model_type: 'qwen2',
    architectures: ['Qwen2ForCausalLM'],
  });
});

it('weights: wrong shapes name tensor, both shapes and config key; missing shards and index entries are named', async () => {
  const shape = async (family: TinyFamily, overrides: Record<string, unknown>, change: Record<string, unknown>) => {
    const dir = freshDir();
    const { config } = writeTinyHfFolder(dir, { family, overrides, shards: 2 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, ...change }));
    return loadModel(dir);
  };
  await expect(shape('qwen3', {}, { intermediate_size: 40 })).rejects.toThrow(
    /tensor 'model\.layers\.0\.mlp\.down_proj\.weight' has shape \[32,48\], expected \[32,40\] from config\.json \[hidden_size, intermediate_size\]/,
  );
  await expect(shape('qwen3', {}, { head_dim: 12 })).rejects.toThrow(
    /'model\.layers\.0\.self_attn\.k_norm\.weight' has shape \[16\], expected \[12\] from config\.json \[head_dim\]/,
  );
  await expect(shape('llama3', {}, { head_dim: 4 })).rejects.toThrow(
    /'model\.layers\.0\.self_attn\.k_proj\.weight' has shape \[16,32\], expected \[8,32\] from config\.json \[num_key_value_heads × head_dim, hidden_size\]/,
  );
  await expect(shape('smollm2', {}, { num_key_value_heads: 4 })).rejects.toThrow(
    /k_proj\.weight' has shape \[16,32\], expected \[32,32\] from config\.json \[num_key_value_heads × head_dim/,
  );
  await expect(shape('smollm2', {}, { tie_word_embeddings: false })).rejects.toThrow(
    /missing tensor 'lm_head\.weight' \(expected shape \[64,32\]\)/,
  );
  await expect(shape('qwen3', { attention_bias: true }, { attention_bias: false })).rejects.toThrow(
    /unknown tensor 'model\.layers\.0\.self_attn\.(q|k|v|o)_proj\.bias'/,
  );

  const sharded = () => {
    const dir = freshDir();
    writeTinyHfFolder(dir, { family: 'qwen2', shards: 3 });
    return dir;
  };
  const a = sharded();
  unlinkSync(join(a, 'model-00002-of-00003.safetensors'));
  await expect(loadModel(a)).rejects.toThrow(
    /model\.safetensors\.index\.json: names shard 'model-00002-of-00003\.safetensors' \(holding '.+'\), which is missing/,
  );
  const b = sharded();
  const index = JSON.parse(readFileSync(join(b, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>;
  };
  index.weight_map['model.norm.weight'] = 'model-extra.safetensors';
  writeFileSync(join(b, 'model.safetensors.index.json'), JSON.stringify(index));
  await expect(loadModel(b)).rejects.toThrow(
    /names shard 'model-extra\.safetensors' \(holding 'model\.norm\.weight'\), which is missing/,
  );
  const c = sharded();
  const index2 = JSON.parse(readFileSync(join(c, 'model.safetensors.index.json'), 'utf8')) as {
    weight_map: Record<string, string>;
  };
  const moved = Object.keys(index2.weight_map).find(
    (n) => index2.weight_map[n] === 'model-00001-of-00003.safetensors',
  )!;
  index2.weight_map[moved] = 'model-00003-of-00003.safetensors';
  writeFileSync(join(c, 'model.safetensors.index.json'), JSON.stringify(index2));
  await expect(loadModel(c)).rejects.toThrow(
    new RegExp(`tensor '${moved.replace(/\./g, '\\.')}' is not assigned to this shard`),
  );
});

describeEachBackend('gradients through the family switches', () => {
  it('match central finite differences (biases, q/k norms, explicit head_dim, GELU, llama3 RoPE)', async () => {
    const config = parseLlamaConfig({
      dim: 8,
      nLayers: 1,
      nHeads: 2,
      nKvHeads: 1,
      headDim: 6,
      hiddenDim: 12,
      vocabSize: 11,
      maxSeqLen: 8,
      qkvBias: true,
      oBias: true,
      mlpBias: true,
      qkNorm: true,
      activation: 'gelu_tanh',
      ropeScaling: {
        type: 'llama3',
        factor: 8,
        lowFreqFactor: 1,
        highFreqFactor: 4,
        originalMaxPositionEmbeddings: 16,
      },
    });
    const model = LlamaModel.init(config, { seed: 5, std: 0.5 });
    // Biases start at zero and norms at one; move them so their gradients are not at a special point.
    for (const l of model.weights.layers)
      for (const v of [l.bqkv!, l.bo!, l.qNorm!, l.kNorm!, l.b13!, l.b2!])
        v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.3, 'float32', 9)));
    const ids = tf.tensor2d([[1, 2, 3, 4, 5]], undefined, 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5, 6]], undefined, 'int32');
    const mask = tf.ones([1, 5]) as tf.Tensor2D;
    const loss = () => model.nextTokenLoss(ids, targets, mask);
    const { grads } = tf.variableGrads(loss, model.parameters());
    const h = 1e-2;
    for (const p of model.parameters()) {
      const g = await grads[p.name]!.data();
      const values = (await p.data()).slice();
      for (const i of [0, values.length - 1]) {
        const at = async (delta: number) => {
          const v = values.slice();
          v[i] = values[i]! + delta;
          p.assign(tf.tensor(v, p.shape));
          return readScalar(loss());
        };
        const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
        p.assign(tf.tensor(values, p.shape));
        expect(Math.abs(g[i]! - numeric), `${p.name}[${i}]: ${g[i]} vs ${numeric}`).toBeLessThan(
          2e-3 + 0.02 * Math.abs(numeric),
        );
      }
    }
    expect(model.parameters().length).toBe(1 + 12 + 1); // embedding, 6 + 6 optional per layer, final norm (tied head)
    tf.dispose([ids, targets, mask, ...Object.values(grads)]);
    model.dispose();
  });
});
