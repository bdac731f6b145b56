#!/usr/bin/env node
// Writes tiny random-weight Hugging Face model folders (config.json + model.safetensors, or shards with
// model.safetensors.index.json), one per family, from a seed: Llama 3 (llama3 rope_scaling), SmolLM2 (tied
// embeddings), Qwen2 (q/k/v biases), Qwen3 (explicit head_dim, q_norm/k_norm). The configs carry the keys
// the real models' config.json files have, so loading them exercises the same mapping; the sizes are tiny.
// Tests generate these into a temporary folder, so no binary is committed.
//
// Self-contained on purpose (own RNG, own safetensors writer, no import of @rmt/model): it is the
// independent side of the loader tests, and a bug shared with the loader could not hide here.
//
// With the weights: a tiny tokenizer.json and tokenizer_config.json (special tokens, chat template) unless
// `--no-tokenizer` / `tokenizer: false`.
//
//   node tools/hf-tiny.mjs <out-dir> [--family llama3|smollm2|qwen2|qwen3] [--seed N] [--dtype f32|bf16|f16] [--shards N] [--no-tokenizer] [--max-positions N]
//
// `--max-positions` sets max_position_embeddings (most families default to 64, too short for the text
// prompt format; examples/hf-*.yaml use 1024).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SMALL = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};

/** config.json of each family, with the keys of a real checkpoint of it (values shrunk). */
export const FAMILIES = {
  // Llama 3.2: llama3 RoPE scaling with the original context short enough that the tiny head's
  // wavelengths fall in all three bands (kept, interpolated, divided by factor).
  llama3: {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...SMALL,
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 1,
    eos_token_id: 2,
    head_dim: 8,
    hidden_act: 'silu',
    initializer_range: 0.02,
    max_position_embeddings: 1024,
    mlp_bias: false,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: {
      factor: 32.0,
      high_freq_factor: 4.0,
      low_freq_factor: 1.0,
      original_max_position_embeddings: 256,
      rope_type: 'llama3',
    },
    rope_theta: 500000.0,
    tie_word_embeddings: false,
    torch_dtype: 'bfloat16',
    transformers_version: '4.45.0.dev0',
    use_cache: true,
  },
  smollm2: {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...SMALL,
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 0,
    hidden_act: 'silu',
    initializer_range: 0.041666666666666664,
    is_llama_config: true,
    max_position_embeddings: 64,
    mlp_bias: false,
    pad_token_id: 2,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_interleaved: false,
    rope_scaling: null,
    rope_theta: 100000,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.42.3',
    use_cache: true,
  },
  qwen2: {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    ...SMALL,
    attention_dropout: 0.0,
    bos_token_id: 63,
    eos_token_id: 63,
    hidden_act: 'silu',
    initializer_range: 0.02,
    max_position_embeddings: 64,
    max_window_layers: 2,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000.0,
    sliding_window: 64,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.43.1',
    use_cache: true,
    use_sliding_window: false,
  },
  // Qwen3: head_dim 16 ≠ hidden_size / heads = 8, as in the real models (e.g. 1024 wide, 16 heads of 128).
  qwen3: {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    ...SMALL,
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 63,
    eos_token_id: 63,
    head_dim: 16,
    hidden_act: 'silu',
    initializer_range: 0.02,
    max_position_embeddings: 64,
    max_window_layers: 2,
    rms_norm_eps: 1e-6,
    rope_scaling: null,
    rope_theta: 1000000,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: 'bfloat16',
    transformers_version: '4.51.0',
    use_cache: true,
    use_sliding_window: false,
  },
};

// --- tokenizer.json / tokenizer_config.json ------------------------------------------------------------
// A tiny byte-level BPE per family (all four use GPT-2-style byte-level BPE), with the family's special
// tokens and chat template. The model's vocabulary is tiny (64 by default), so when the 256 bytes do not fit,
// only the most common ones do (space, newline, a–z, digits, punctuation, A–Z, …) and other bytes are dropped
// on encoding (no unk token): enough to load a folder end to end, not for round trips of arbitrary text.

const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const SMOLLM2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const QWEN2_TEMPLATE =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
/** Qwen3's template without its tools branch: system, user, assistant turns (thinking split out), enable_thinking. */
const QWEN3_TEMPLATE = String.raw`{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- if '</think>' in message.content %}
            {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
        {%- endif %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}`;

/**
 * Each family's added tokens ([id, content, special]; ids as its config.json's bos/eos/pad ids, the rest
 * beside them) and tokenizer_config.json keys. `top` ids count from the end of the vocabulary (Qwen).
 */
export const TOKENIZERS = {
  llama3: {
    added: [
      [1, '<|begin_of_text|>', true],
      [2, '<|end_of_text|>', true],
      [3, '<|start_header_id|>', true],
      [4, '<|end_header_id|>', true],
      [5, '<|eot_id|>', true],
    ],
    config: { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>', chat_template: LLAMA3_TEMPLATE },
  },
  smollm2: {
    added: [
      [0, '<|endoftext|>', true],
      [1, '<|im_start|>', true],
      [2, '<|im_end|>', true],
    ],
    config: {
      bos_token: '<|endoftext|>',
      eos_token: '<|endoftext|>',
      pad_token: '<|im_end|>',
      chat_template: SMOLLM2_TEMPLATE,
    },
  },
  qwen2: {
    top: true,
    added: [
      [1, '<|endoftext|>', true],
      [2, '<|im_start|>', true],
      [3, '<|im_end|>', true],
    ],
    config: { bos_token: null, eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', chat_template: QWEN2_TEMPLATE },
  },
  qwen3: {
    top: true,
    added: [
      [1, '<|endoftext|>', true],
      [2, '<|im_start|>', true],
      [3, '<|im_end|>', true],
      [4, '<think>', false],
      [5, '</think>', false],
    ],
    config: { bos_token: null, eos_token: '<|endoftext|>', pad_token: '<|endoftext|>', chat_template: QWEN3_TEMPLATE },
  },
};

/** GPT-2's byte → printable character table. */
function byteChars() {
  const printable = new Set();
  for (let b = 33; b <= 126; b++) printable.add(b);
  for (let b = 161; b <= 172; b++) printable.add(b);
  for (let b = 174; b <= 255; b++) printable.add(b);
  const out = [];
  for (let b = 0, extra = 0; b < 256; b++) out.push(String.fromCharCode(printable.has(b) ? b : 256 + extra++));
  return out;
}
/** Bytes in the order they are kept when not all 256 fit. */
const BYTE_PRIORITY = [
  ...' \nabcdefghijklmnopqrstuvwxyz0123456789.,:;!?\'"()<>/\\{}[]=+-*_|#$%&^~`@ABCDEFGHIJKLMNOPQRSTUVWXYZ\t',
].map((c) => c.charCodeAt(0));
/** A few English merges, used when every byte fits and room is left. */
const MERGES = [
  ['Ġ', 't'],
  ['h', 'e'],
  ['Ġt', 'he'],
  ['i', 'n'],
  ['Ġ', 'a'],
  ['e', 'r'],
  ['o', 'n'],
  ['Ġ', 's'],
  ['r', 'e'],
  ['a', 't'],
  ['e', 'n'],
  ['Ġ', 'c'],
];

/** tokenizer.json and tokenizer_config.json of a family for a vocabulary of `vocabSize` ids. */
export function tinyTokenizer(family, vocabSize) {
  const spec = TOKENIZERS[family];
  if (!spec) throw new Error(`hf-tiny: no tokenizer for family '${family}'`);
  const added = spec.added.map(([id, content, special]) => ({
    id: spec.top ? vocabSize - id : id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special,
  }));
  if (added.some((t) => t.id < 0 || t.id >= vocabSize))
    throw new Error(`hf-tiny: vocab_size ${vocabSize} is too small for ${family}'s special tokens`);
  const taken = new Set(added.map((t) => t.id));
  const free = [];
  for (let id = 0; id < vocabSize; id++) if (!taken.has(id)) free.push(id);
  const chars = byteChars();
  const bytes =
    free.length >= 256
      ? [...Array(256).keys()]
      : [...new Set([...BYTE_PRIORITY, ...Array(256).keys()])].slice(0, free.length);
  const vocab = {};
  bytes.forEach((b, i) => (vocab[chars[b]] = free[i]));
  const merges = [];
  for (const [a, b] of MERGES) {
    if (bytes.length + merges.length >= free.length) break;
    if (vocab[a] === undefined || vocab[b] === undefined) continue;
    vocab[a + b] = free[bytes.length + merges.length];
    merges.push(`${a} ${b}`);
  }
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    clean_up_tokenization_spaces: false,
    model_max_length: 131072,
    ...spec.config,
  };
  return { json, config };
}

/** Seeded normal draws (mulberry32 + Box–Muller): the same folder from the same seed on every machine. */
function normalSource(seed) {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** float32 → bfloat16 bits, round to nearest even (as torch's .to(torch.bfloat16)). */
function toBf16(x) {
  f32[0] = x;
  const u = u32[0];
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function fromBf16(h) {
  u32[0] = h << 16;
  return f32[0];
}
/** float32 → IEEE half bits, round to nearest even (normal range only: tiny weights stay well inside it). */
function toF16(x) {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  const e = Math.floor(Math.log2(a));
  let m = Math.round((a / 2 ** e - 1) * 1024);
  let exp = e + 15;
  if (m === 1024) {
    m = 0;
    exp++;
  }
  return sign | (exp << 10) | m;
}
function fromF16(h) {
  const exp = (h >> 10) & 0x1f;
  const v = exp === 0 ? (h & 0x3ff) * 2 ** -24 : (1 + (h & 0x3ff) / 1024) * 2 ** (exp - 15);
  return h & 0x8000 ? -v : v;
}

/** The HF tensors a config implies: name → shape, plus how to draw it ('normal' std, or around one for norms). */
export function tensorPlan(config) {
  const c = config;
  const D = c.hidden_size;
  const hd = c.head_dim ?? D / c.num_attention_heads;
  const q = c.num_attention_heads * hd;
  const kv = (c.num_key_value_heads ?? c.num_attention_heads) * hd;
  const I = c.intermediate_size;
  const qkvBias = c.model_type === 'qwen2' || c.attention_bias === true;
  const oBias = c.model_type !== 'qwen2' && c.attention_bias === true;
  const plan = [['model.embed_tokens.weight', [c.vocab_size, D], 'emb']];
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    plan.push([`${p}input_layernorm.weight`, [D], 'norm']);
    plan.push(
      [`${p}self_attn.q_proj.weight`, [q, D], 'w'],
      [`${p}self_attn.k_proj.weight`, [kv, D], 'w'],
      [`${p}self_attn.v_proj.weight`, [kv, D], 'w'],
    );
    if (qkvBias)
      plan.push(
        [`${p}self_attn.q_proj.bias`, [q], 'b'],
        [`${p}self_attn.k_proj.bias`, [kv], 'b'],
        [`${p}self_attn.v_proj.bias`, [kv], 'b'],
      );
    if (c.model_type === 'qwen3')
      plan.push([`${p}self_attn.q_norm.weight`, [hd], 'norm'], [`${p}self_attn.k_norm.weight`, [hd], 'norm']);
    plan.push([`${p}self_attn.o_proj.weight`, [D, q], 'w']);
    if (oBias) plan.push([`${p}self_attn.o_proj.bias`, [D], 'b']);
    plan.push([`${p}post_attention_layernorm.weight`, [D], 'norm']);
    plan.push(
      [`${p}mlp.gate_proj.weight`, [I, D], 'w'],
      [`${p}mlp.up_proj.weight`, [I, D], 'w'],
      [`${p}mlp.down_proj.weight`, [D, I], 'w'],
    );
    if (c.mlp_bias === true)
      plan.push(
        [`${p}mlp.gate_proj.bias`, [I], 'b'],
        [`${p}mlp.up_proj.bias`, [I], 'b'],
        [`${p}mlp.down_proj.bias`, [D], 'b'],
      );
  }
  plan.push(['model.norm.weight', [D], 'norm']);
  if (c.tie_word_embeddings !== true) plan.push(['lm_head.weight', [c.vocab_size, D], 'w']);
  return plan;
}

/** safetensors bytes of tensors ({name → {data: Float32Array, shape}}) stored as `dtype`. */
export function safetensorsBytes(tensors, dtype = 'f32') {
  const code = { f32: 'F32', bf16: 'BF16', f16: 'F16' }[dtype];
  if (!code) throw new Error(`hf-tiny: unknown dtype '${dtype}' (f32, bf16, f16)`);
  const width = dtype === 'f32' ? 4 : 2;
  const names = [...tensors.keys()].sort();
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const n of names) {
    const t = tensors.get(n);
    header[n] = { dtype: code, shape: t.shape, data_offsets: [offset, offset + t.data.length * width] };
    offset += t.data.length * width;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const n of names) {
    for (const v of tensors.get(n).data) {
      if (dtype === 'f32') out.writeFloatLE(v, at);
      else out.writeUInt16LE(dtype === 'bf16' ? toBf16(v) : toF16(v), at);
      at += width;
    }
  }
  return out;
}

/**
 * Write one tiny folder. `overrides` are merged over the family's config.json (undefined deletes a key) before
 * the tensors are planned, so a bias or tying switch also changes which tensors are written.
 * Returns the config and the tensors exactly as stored (rounded to the dtype), for a reference to use.
 */
export function writeTinyHfFolder(
  dir,
  { family = 'llama3', seed = 1, dtype = 'f32', shards = 1, overrides = {}, tokenizer = true } = {},
) {
  const base = FAMILIES[family];
  if (!base) throw new Error(`hf-tiny: unknown family '${family}' (${Object.keys(FAMILIES).join(', ')})`);
  const config = JSON.parse(JSON.stringify(base));
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete config[k];
    else config[k] = v;
  }
  if (dtype !== 'bf16') config.torch_dtype = dtype === 'f16' ? 'float16' : 'float32';
  const normal = normalSource(seed);
  const round =
    dtype === 'bf16' ? (x) => fromBf16(toBf16(x)) : dtype === 'f16' ? (x) => fromF16(toF16(x)) : (x) => Math.fround(x);
  // Large enough weights that logits are peaked and every switch moves them measurably.
  const draw = {
    emb: () => 0.5 * normal(),
    w: () => 0.25 * normal(),
    b: () => 0.2 * normal(),
    norm: () => 1 + 0.2 * normal(),
  };
  const tensors = new Map();
  for (const [name, shape, kind] of tensorPlan(config)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = round(draw[kind]());
    tensors.set(name, { data, shape });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  if (shards <= 1) writeFileSync(join(dir, 'model.safetensors'), safetensorsBytes(tensors, dtype));
  else {
    // Contiguous runs of names per shard, as transformers' save_pretrained fills shards in order.
    const names = [...tensors.keys()];
    const per = Math.ceil(names.length / shards);
    const weightMap = {};
    let total = 0;
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = new Map(names.slice(s * per, (s + 1) * per).map((n) => [n, tensors.get(n)]));
      for (const [n, t] of part) {
        weightMap[n] = file;
        total += t.data.length * (dtype === 'f32' ? 4 : 2);
      }
      writeFileSync(join(dir, file), safetensorsBytes(part, dtype));
    }
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`,
    );
  }
  if (tokenizer) {
    const tok = tinyTokenizer(family, config.vocab_size);
    writeFileSync(join(dir, 'tokenizer.json'), `${JSON.stringify(tok.json, null, 2)}\n`);
    writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(tok.config, null, 2)}\n`);
  }
  return { config, tensors };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = args.find((a, i) => !a.startsWith('--') && (i === 0 || !args[i - 1].startsWith('--')));
  const opt = (name, fallback) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : fallback;
  };
  if (!dir) {
    console.error(
      'usage: node tools/hf-tiny.mjs <out-dir> [--family llama3|smollm2|qwen2|qwen3] [--seed N] [--dtype f32|bf16|f16] [--shards N] [--no-tokenizer] [--max-positions N]',
    );
    process.exit(2);
  }
  const family = opt('family', 'llama3');
  const positions = opt('max-positions', undefined);
  if (positions !== undefined && !(Number.isInteger(Number(positions)) && Number(positions) > 0)) {
    console.error(`hf-tiny: --max-positions must be a positive integer, got '${positions}'`);
    process.exit(2);
  }
  const overrides = positions === undefined ? {} : { max_position_embeddings: Number(positions) };
  writeTinyHfFolder(dir, {
    family,
    seed: Number(opt('seed', '1')),
    dtype: opt('dtype', 'f32'),
    shards: Number(opt('shards', '1')),
    overrides,
    tokenizer: !args.includes('--no-tokenizer'),
  });
  console.log(`wrote a tiny ${family} folder to ${dir}`);
}
