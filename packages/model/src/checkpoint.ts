// Model checkpoints: a folder with model.safetensors (HF Llama names) + config.json (HF LlamaConfig keys,
// plus an `rmt` block for what HF has no key for) + the tokenizer. Every file is written atomically.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readInput, readSafetensors, writeFileAtomic, writeSafetensors, type TensorMap } from '@rmt/core';
import { parseLlamaConfig, type LlamaConfig } from './config.js';
import { importLlama2c } from './llama2c-import.js';
import type { LlamaModel } from './llama.js';
import { ByteTokenizer } from './tokenizers/byte.js';
import { HuggingFaceTokenizer } from './tokenizers/huggingface.js';
import { Llama2cTokenizer } from './tokenizers/llama2c.js';
import type { Tokenizer } from './tokenizers/tokenizer.js';
import { fromHfTensors, toHfTensors } from './weights.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
const BYTE_TOKENIZER_FILE = 'tokenizer.rmt.json';
const LLAMA2C_TOKENIZER_FILE = 'tokenizer.bin';
const HF_TOKENIZER_FILE = 'tokenizer.json';

/** config.json in Hugging Face's LlamaConfig vocabulary. */
export function toHfConfig(c: LlamaConfig): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rope_theta: c.ropeTheta,
    rms_norm_eps: c.normEps,
    tie_word_embeddings: c.tieEmbeddings,
    hidden_act: 'silu',
    torch_dtype: 'float32',
    rmt: { positionEncoding: c.positionEncoding },
  };
}

export function fromHfConfig(json: Record<string, unknown>, file: string): LlamaConfig {
  if (json.model_type !== undefined && json.model_type !== 'llama') throw new Error(`${file}: model_type '${String(json.model_type)}' is not a Llama model`);
  const heads = json.num_attention_heads;
  return parseLlamaConfig(
    {
      dim: json.hidden_size,
      nLayers: json.num_hidden_layers,
      nHeads: heads,
      nKvHeads: json.num_key_value_heads ?? heads,
      hiddenDim: json.intermediate_size,
      vocabSize: json.vocab_size,
      maxSeqLen: json.max_position_embeddings,
      ropeTheta: json.rope_theta ?? 10000,
      normEps: json.rms_norm_eps ?? 1e-5,
      tieEmbeddings: json.tie_word_embeddings ?? false,
      positionEncoding: (json.rmt as { positionEncoding?: string } | undefined)?.positionEncoding ?? 'rope',
    },
    file,
  );
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  const text = await readInput(path, 'utf8');
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${path}: invalid JSON (${(error as Error).message})`, { cause: error });
  }
}

function serializeLlama2cTokenizer(t: Llama2cTokenizer): Uint8Array {
  const maxLen = Math.max(1, ...t.pieces.map((p) => p.length));
  const out = Buffer.alloc(4 + t.pieces.reduce((n, p) => n + 8 + p.length, 0));
  out.writeInt32LE(maxLen, 0);
  let at = 4;
  t.pieces.forEach((p, i) => {
    out.writeFloatLE(t.scores[i]!, at);
    out.writeInt32LE(p.length, at + 4);
    out.set(p, at + 8);
    at += 8 + p.length;
  });
  return out;
}

export async function saveTokenizer(dir: string, tokenizer: Tokenizer): Promise<void> {
  if (tokenizer instanceof ByteTokenizer) await writeFileAtomic(join(dir, BYTE_TOKENIZER_FILE), JSON.stringify(tokenizer.toJSON(), null, 2));
  else if (tokenizer instanceof Llama2cTokenizer) await writeFileAtomic(join(dir, LLAMA2C_TOKENIZER_FILE), serializeLlama2cTokenizer(tokenizer));
  else if (tokenizer instanceof HuggingFaceTokenizer) await writeFileAtomic(join(dir, HF_TOKENIZER_FILE), JSON.stringify(tokenizer.json));
  else throw new Error(`saveTokenizer: unsupported tokenizer kind '${tokenizer.kind}'`);
}

/**
 * Load a tokenizer from a file (tok*.bin, tokenizer.json, tokenizer.rmt.json) or from a checkpoint folder.
 * `vocabSize` is needed for llama2.c files, which do not store it.
 */
export async function loadTokenizer(path: string, vocabSize?: number): Promise<Tokenizer> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const name of [BYTE_TOKENIZER_FILE, HF_TOKENIZER_FILE, LLAMA2C_TOKENIZER_FILE]) {
      if (existsSync(join(path, name))) return loadTokenizer(join(path, name), vocabSize ?? (await readVocabSize(path)));
    }
    throw new Error(`${path}: no tokenizer file (${BYTE_TOKENIZER_FILE}, ${HF_TOKENIZER_FILE} or ${LLAMA2C_TOKENIZER_FILE})`);
  }
  if (path.endsWith('.rmt.json')) {
    const json = await readJson(path);
    if (json.kind !== 'byte' || !Array.isArray(json.specials) || !json.specials.every((s) => typeof s === 'string')) {
      throw new Error(`${path}: expected {"kind": "byte", "specials": [strings]}`);
    }
    return new ByteTokenizer(json.specials as string[]);
  }
  if (path.endsWith('.json')) return HuggingFaceTokenizer.load(path);
  if (path.endsWith('.bin')) {
    if (vocabSize === undefined) throw new Error(`${path}: a llama2.c tokenizer needs the model's vocabulary size`);
    return Llama2cTokenizer.load(path, vocabSize);
  }
  throw new Error(`${path}: unknown tokenizer file type (expected .bin, tokenizer.json or tokenizer.rmt.json)`);
}

async function readVocabSize(dir: string): Promise<number | undefined> {
  const file = join(dir, CONFIG_FILE);
  return existsSync(file) ? ((await readJson(file)).vocab_size as number | undefined) : undefined;
}

/** Save weights, config and (optionally) tokenizer into `dir`. */
export async function saveModel(dir: string, model: LlamaModel, tokenizer?: Tokenizer): Promise<void> {
  await writeSafetensors(join(dir, WEIGHTS_FILE), toHfTensors(model), { format: 'pt' });
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(toHfConfig(model.config), null, 2)}\n`);
  if (tokenizer) await saveTokenizer(dir, tokenizer);
}

async function readFolderTensors(dir: string): Promise<TensorMap> {
  const single = join(dir, WEIGHTS_FILE);
  if (existsSync(single)) return (await readSafetensors(single)).tensors;
  const indexFile = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexFile)) throw new Error(`${dir}: no ${WEIGHTS_FILE} or model.safetensors.index.json`);
  const index = await readJson(indexFile);
  const shards = new Set(Object.values((index.weight_map ?? {}) as Record<string, string>));
  const all: TensorMap = new Map();
  for (const shard of shards) {
    if (basename(shard) !== shard) throw new Error(`${indexFile}: shard name '${shard}' must be a file in the same folder`);
    for (const [name, t] of (await readSafetensors(join(dir, shard))).tensors) all.set(name, t);
  }
  return all;
}

export interface LoadedModel {
  model: LlamaModel;
  tokenizer: Tokenizer | undefined;
  /** What was loaded: our/HF folder or llama2.c file. */
  format: 'safetensors-folder' | 'llama2c';
}

/**
 * Load a model from a checkpoint folder (ours or a Hugging Face Llama folder) or a llama2.c `.bin`.
 * The tokenizer comes from `tokenizerPath`, else from the folder, else (llama2.c) a tok*.bin beside it.
 */
export async function loadModel(path: string, tokenizerPath?: string): Promise<LoadedModel> {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const config = fromHfConfig(await readJson(join(path, CONFIG_FILE)), join(path, CONFIG_FILE));
    const model = fromHfTensors(config, await readFolderTensors(path), path);
    const tokenizer = await loadTokenizer(tokenizerPath ?? path, config.vocabSize).catch((error: unknown) => {
      if (tokenizerPath) throw error;
      return undefined;
    });
    return { model, tokenizer, format: 'safetensors-folder' };
  }
  const model = await importLlama2c(path);
  let tokenizer: Tokenizer | undefined;
  if (tokenizerPath) tokenizer = await loadTokenizer(tokenizerPath, model.config.vocabSize);
  else {
    const beside = join(dirname(path), `tok${model.config.vocabSize}.bin`);
    if (existsSync(beside)) tokenizer = await loadTokenizer(beside, model.config.vocabSize);
  }
  return { model, tokenizer, format: 'llama2c' };
}
