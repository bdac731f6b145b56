// Model checkpoints: a folder with model.safetensors (HF names) + config.json (the HF config of the family
// that reproduces the model, hf-config.ts) + the tokenizer. The folder is written atomically. Hugging Face
// folders (Llama, SmolLM2, Qwen2, Qwen3; one file or sharded) load through the same path.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  readInput,
  readSafetensors,
  writeFileAtomic,
  writeFolderAtomic,
  writeSafetensors,
  type TensorMap,
} from '@rmt/core';
import type { LlamaConfig } from './config.js';
import { fromHfConfig, toHfConfig } from './hf-config.js';
import { importLlama2c } from './llama2c-import.js';
import type { LlamaModel } from './llama.js';
import { ByteTokenizer, HuggingFaceTokenizer, Llama2cTokenizer, type Tokenizer } from '@rmt/tokenizers';
import { checkHfTensor, expectedHfTensors, fromHfTensors, toHfTensors } from './weights.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const INDEX_FILE = 'model.safetensors.index.json';
const BYTE_TOKENIZER_FILE = 'tokenizer.rmt.json';
const LLAMA2C_TOKENIZER_FILE = 'tokenizer.bin';
const HF_TOKENIZER_FILE = 'tokenizer.json';
const TOKENIZER_FILES = [BYTE_TOKENIZER_FILE, HF_TOKENIZER_FILE, LLAMA2C_TOKENIZER_FILE];

export { fromHfConfig, toHfConfig } from './hf-config.js';

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
  if (tokenizer instanceof ByteTokenizer)
    await writeFileAtomic(join(dir, BYTE_TOKENIZER_FILE), JSON.stringify(tokenizer.toJSON(), null, 2));
  else if (tokenizer instanceof Llama2cTokenizer)
    await writeFileAtomic(join(dir, LLAMA2C_TOKENIZER_FILE), serializeLlama2cTokenizer(tokenizer));
  else if (tokenizer instanceof HuggingFaceTokenizer) {
    // tokenizer_config.json carries bos/eos/pad and the chat template (or chat_template.jinja does): without
    // them a saved instruction model would lose its prompt format.
    await writeFileAtomic(join(dir, HF_TOKENIZER_FILE), JSON.stringify(tokenizer.json));
    if (Object.keys(tokenizer.config).length > 0)
      await writeFileAtomic(join(dir, 'tokenizer_config.json'), `${JSON.stringify(tokenizer.config, null, 2)}\n`);
    const jinja = tokenizer.config.chat_template === undefined ? tokenizer.chatTemplates.get('default') : undefined;
    if (jinja !== undefined) await writeFileAtomic(join(dir, 'chat_template.jinja'), jinja);
  } else throw new Error(`saveTokenizer: unsupported tokenizer kind '${tokenizer.kind}'`);
}

/**
 * Load a tokenizer from a file (tok*.bin, tokenizer.json, tokenizer.rmt.json) or from a checkpoint folder.
 * `vocabSize` is needed for llama2.c files, which do not store it.
 */
export async function loadTokenizer(path: string, vocabSize?: number): Promise<Tokenizer> {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const name of TOKENIZER_FILES) {
      if (existsSync(join(path, name)))
        return loadTokenizer(join(path, name), vocabSize ?? (await readVocabSize(path)));
    }
    throw new Error(
      `${path}: no tokenizer file (${BYTE_TOKENIZER_FILE}, ${HF_TOKENIZER_FILE} or ${LLAMA2C_TOKENIZER_FILE})`,
    );
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

/**
 * Save weights, config and (optionally) tokenizer as the folder `dir`, atomically: a process killed while
 * saving leaves the previous folder (or none), never a part of one. `alsoWrite` adds files of the caller's
 * (optimizer state, markers) into the folder before it takes its place.
 */
export async function saveModel(
  dir: string,
  model: LlamaModel,
  tokenizer?: Tokenizer,
  alsoWrite?: (tmp: string) => Promise<void>,
): Promise<void> {
  await writeFolderAtomic(dir, async (tmp) => {
    await writeSafetensors(join(tmp, WEIGHTS_FILE), await toHfTensors(model), { format: 'pt' });
    await writeFileAtomic(join(tmp, CONFIG_FILE), `${JSON.stringify(toHfConfig(model.config), null, 2)}\n`);
    if (tokenizer) await saveTokenizer(tmp, tokenizer);
    await alsoWrite?.(tmp);
  });
}

/**
 * The tensors of a folder: model.safetensors, or the shards model.safetensors.index.json names. Shards are
 * read one at a time and each tensor is checked against the config as its shard is read, so only one
 * shard's bytes are held at once (the float32 values kept are the model itself) and a wrong shape or
 * stray name fails before the remaining shards are read.
 */
async function readFolderTensors(dir: string, config: LlamaConfig): Promise<TensorMap> {
  const expected = expectedHfTensors(config);
  const all: TensorMap = new Map();
  const addFile = async (file: string, names?: Set<string>, indexFile?: string) => {
    const { tensors } = await readSafetensors(file);
    for (const [name, t] of tensors) {
      if (names && !names.has(name))
        throw new Error(`${file}: tensor '${name}' is not assigned to this shard by ${indexFile}`);
      if (all.has(name)) throw new Error(`${file}: tensor '${name}' appears in more than one shard`);
      if (checkHfTensor(config, expected, name, t.shape, file)) all.set(name, t);
    }
    const absent = [...(names ?? [])].filter((n) => !tensors.has(n));
    if (absent.length > 0)
      throw new Error(`${file}: ${indexFile} puts tensor '${absent[0]}' in this shard, but it is not there`);
  };
  const single = join(dir, WEIGHTS_FILE);
  if (existsSync(single)) {
    await addFile(single);
    return all;
  }
  const indexFile = join(dir, INDEX_FILE);
  if (!existsSync(indexFile)) throw new Error(`${dir}: no ${WEIGHTS_FILE} or ${INDEX_FILE}`);
  const map = (await readJson(indexFile)).weight_map;
  if (
    typeof map !== 'object' ||
    map === null ||
    Array.isArray(map) ||
    !Object.values(map).every((v) => typeof v === 'string')
  ) {
    throw new Error(`${indexFile}: weight_map must map tensor names to shard file names`);
  }
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(map as Record<string, string>)) {
    if (basename(shard) !== shard || shard === '' || shard === '.' || shard === '..')
      throw new Error(`${indexFile}: shard name '${shard}' must be a file in the same folder`);
    byShard.set(shard, (byShard.get(shard) ?? new Set()).add(name));
  }
  // Check every shard exists before reading any, so a missing one is reported at once, not after the rest.
  for (const [shard, names] of byShard) {
    if (!existsSync(join(dir, shard)))
      throw new Error(
        `${indexFile}: names shard '${shard}' (holding '${[...names][0]}'), which is missing from ${dir}`,
      );
  }
  // In file-name order (model-00001-of-…, …), so errors and reads are the same whatever the index's order.
  for (const shard of [...byShard.keys()].sort()) await addFile(join(dir, shard), byShard.get(shard), INDEX_FILE);
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
    const model = fromHfTensors(config, await readFolderTensors(path, config), path);
    // A folder may have no tokenizer (weights only); one it has must load, or the error says why.
    const hasTokenizer = tokenizerPath !== undefined || TOKENIZER_FILES.some((name) => existsSync(join(path, name)));
    const tokenizer = hasTokenizer ? await loadTokenizer(tokenizerPath ?? path, config.vocabSize) : undefined;
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
