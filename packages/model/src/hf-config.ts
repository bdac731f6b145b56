// config.json ↔ our decoder config. One mapping per Hugging Face model_type says, for EVERY key that
// changes the forward pass, how it is honoured or that it is refused (the error names the key and value),
// with the defaults of that family's transformers config class when a key is absent. Semantics and
// defaults are those of transformers' configuration_{llama,qwen2,qwen3}.py, modeling_*.py and
// modeling_rope_utils.py.
//
// Unknown keys are refused, not ignored: a key we have not classified may change the forward pass (that
// is how RoPE scaling used to load silently wrong), so it must be looked at and added to HARMLESS_KEYS or
// to the family's mapping. Keys known not to affect logits are listed in HARMLESS_KEYS and accepted.
import { parseLlamaConfig, type LlamaConfig, type RopeScaling } from './config.js';

/** The families this decoder implements: model_type → the one architecture name it loads. */
export const SUPPORTED_MODEL_TYPES = {
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  // Ours: a Llama block with learned absolute positions instead of RoPE (the embedded tiny base). It must
  // not be called LlamaForCausalLM: transformers would load it and apply RoPE, giving other logits.
  'rmt-learned-pos': 'RmtLearnedPositionsForCausalLM',
} as const;
export type ModelType = keyof typeof SUPPORTED_MODEL_TYPES;

const supportedList = () =>
  Object.entries(SUPPORTED_MODEL_TYPES)
    .map(([t, a]) => `${t} (${a})`)
    .join(', ');

/**
 * Keys that do not change next-token logits: bookkeeping, token ids, generation defaults, dtype (weights
 * are widened to float32 on load), init. `pretraining_tp` splits the same matmuls into slices (same maths);
 * `rope_interleaved` (SmolLM2, from nanotron) is never read by transformers' Llama, which always rotates
 * halves, and HF semantics are what we reproduce.
 */
export const HARMLESS_KEYS = new Set([
  '_name_or_path',
  'architectures',
  'model_type',
  'torch_dtype',
  'dtype',
  'transformers_version',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
  'sep_token_id',
  'decoder_start_token_id',
  'use_cache',
  'initializer_range',
  'tokenizer_class',
  'return_dict',
  'output_attentions',
  'output_hidden_states',
  'torchscript',
  'id2label',
  'label2id',
  'problem_type',
  'is_llama_config',
  'transformers.js_config',
  'rope_interleaved',
  'pretraining_tp',
  'max_length',
  'do_sample',
  'temperature',
  'top_k',
  'top_p',
]);

type Json = Record<string, unknown>;

/** HF config-class defaults used when a key is absent (transformers' configuration_*.py). */
interface FamilyDefaults {
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  /** undefined: hidden_size / num_attention_heads. Qwen3's default is 128 regardless of width. */
  head_dim: number | undefined;
}
const LLAMA_DEFAULTS: FamilyDefaults = {
  vocab_size: 32000,
  hidden_size: 4096,
  intermediate_size: 11008,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  head_dim: undefined,
};
const QWEN_DEFAULTS: FamilyDefaults = {
  ...LLAMA_DEFAULTS,
  vocab_size: 151936,
  intermediate_size: 22016,
  max_position_embeddings: 32768,
};
const DEFAULTS: Record<ModelType, FamilyDefaults> = {
  llama: LLAMA_DEFAULTS,
  qwen2: QWEN_DEFAULTS,
  qwen3: { ...QWEN_DEFAULTS, head_dim: 128 },
  'rmt-learned-pos': LLAMA_DEFAULTS,
};

/** Keys each family's mapping reads (beyond HARMLESS_KEYS); anything else is refused. */
const COMMON_KEYS = [
  'hidden_size',
  'intermediate_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'head_dim',
  'vocab_size',
  'max_position_embeddings',
  'rms_norm_eps',
  'rope_theta',
  'rope_scaling',
  'rope_parameters',
  'partial_rotary_factor',
  'tie_word_embeddings',
  'hidden_act',
  'attention_dropout',
];
const FAMILY_KEYS: Record<ModelType, string[]> = {
  llama: [...COMMON_KEYS, 'attention_bias', 'mlp_bias', 'rmt'],
  qwen2: [...COMMON_KEYS, 'attention_bias', 'use_sliding_window', 'sliding_window', 'max_window_layers', 'layer_types'],
  qwen3: [...COMMON_KEYS, 'attention_bias', 'use_sliding_window', 'sliding_window', 'max_window_layers', 'layer_types'],
  'rmt-learned-pos': [...COMMON_KEYS, 'attention_bias', 'mlp_bias'],
};

const show = (v: unknown) => JSON.stringify(v);

/** Read a config.json object (HF or ours) into a decoder config; `file` names it in errors. */
export function fromHfConfig(json: Json, file: string): LlamaConfig {
  const refuse = (key: string, value: unknown, why: string): never => {
    throw new Error(`${file}: config key '${key}' = ${show(value)}: ${why}`);
  };
  const modelType = resolveModelType(json, file);
  const d = DEFAULTS[modelType];

  const known = new Set([...FAMILY_KEYS[modelType], ...HARMLESS_KEYS]);
  const unknown = Object.keys(json).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    refuse(
      unknown[0]!,
      json[unknown[0]!],
      `not a key of model_type '${modelType}' that RMT knows to leave the forward pass unchanged, so it is refused rather than ignored` +
        (unknown.length > 1 ? ` (also: ${unknown.slice(1).join(', ')})` : ''),
    );
  }

  const num = (key: string, fallback: number | undefined): number | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) refuse(key, v, 'expected a number');
    return v as number;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = json[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') refuse(key, v, 'expected true or false');
    return v as boolean;
  };

  // Legacy: checkpoints written before RMT had its own architecture name for learned positions say
  // model_type 'llama' / LlamaForCausalLM and carry `rmt: {positionEncoding: 'learned'}` (the embedded
  // base among them). That field is how they are recognised and still loaded with learned positions.
  let positionEncoding: 'rope' | 'learned' = modelType === 'rmt-learned-pos' ? 'learned' : 'rope';
  if (json.rmt !== undefined) {
    const rmt = json.rmt as { positionEncoding?: unknown } | null;
    const pe = rmt?.positionEncoding;
    if (
      typeof rmt !== 'object' ||
      rmt === null ||
      Object.keys(rmt).some((k) => k !== 'positionEncoding') ||
      (pe !== 'rope' && pe !== 'learned')
    ) {
      refuse('rmt', json.rmt, "expected {positionEncoding: 'rope' | 'learned'} (legacy RMT checkpoint)");
    }
    positionEncoding = pe as 'rope' | 'learned';
  }

  const dim = num('hidden_size', d.hidden_size)!;
  const nHeads = num('num_attention_heads', d.num_attention_heads)!;
  const maxSeqLen = num('max_position_embeddings', d.max_position_embeddings)!;
  // head_dim: Llama and Qwen2 read it when present (getattr(config, 'head_dim', hidden // heads)); Qwen3
  // defaults it to 128. Kept undefined when it equals hidden_size / heads, the canonical form.
  const hd = num('head_dim', d.head_dim);
  const headDim = hd === undefined || hd * nHeads === dim ? undefined : hd;

  const act = json.hidden_act ?? 'silu';
  let activation: 'silu' | 'gelu_tanh';
  if (act === 'silu' || act === 'swish') activation = 'silu';
  else if (act === 'gelu_pytorch_tanh' || act === 'gelu_new') activation = 'gelu_tanh';
  else activation = refuse('hidden_act', act, "supported: 'silu' (= 'swish'), 'gelu_pytorch_tanh' (= 'gelu_new')");

  const dropout = num('attention_dropout', 0);
  // Inference ignores dropout, but RMT trains this model and has no attention dropout.
  if (dropout !== 0) refuse('attention_dropout', dropout, 'attention dropout is not implemented (only 0)');

  let qkvBias: boolean;
  let oBias = false;
  let mlpBias = false;
  let qkNorm = false;
  if (modelType === 'llama' || modelType === 'rmt-learned-pos') {
    qkvBias = oBias = bool('attention_bias', false); // Llama: one switch for q, k, v and o
    mlpBias = bool('mlp_bias', false);
  } else {
    // Qwen2 hard-codes q/k/v biases and no o bias; a config saying attention_bias: false would be ignored
    // by transformers and is more likely a different model, so only true (or absent) is accepted.
    if (modelType === 'qwen2') {
      qkvBias = true;
      if (json.attention_bias !== undefined && json.attention_bias !== true)
        refuse('attention_bias', json.attention_bias, 'Qwen2 always has q/k/v biases (transformers ignores this key)');
    } else {
      qkvBias = oBias = bool('attention_bias', false); // Qwen3 inherits Llama's attention
      qkNorm = true;
    }
    checkSlidingWindow(json, modelType, num('num_hidden_layers', d.num_hidden_layers)!, maxSeqLen, refuse);
  }

  const { ropeTheta, ropeScaling } = readRope(json, d, maxSeqLen, refuse);

  return parseLlamaConfig(
    {
      dim,
      nLayers: num('num_hidden_layers', d.num_hidden_layers),
      nHeads,
      nKvHeads: num('num_key_value_heads', nHeads),
      ...(headDim === undefined ? {} : { headDim }),
      hiddenDim: num('intermediate_size', d.intermediate_size),
      vocabSize: num('vocab_size', d.vocab_size),
      maxSeqLen,
      ropeTheta,
      ...(ropeScaling && positionEncoding === 'rope' ? { ropeScaling } : {}),
      normEps: num('rms_norm_eps', d.rms_norm_eps),
      tieEmbeddings: bool('tie_word_embeddings', false),
      positionEncoding,
      activation,
      qkvBias,
      oBias,
      mlpBias,
      qkNorm,
    },
    file,
  );
}

/** model_type (or, without one, the architecture) → family; anything else is refused listing ours. */
function resolveModelType(json: Json, file: string): ModelType {
  const archs = json.architectures;
  if (archs !== undefined && (!Array.isArray(archs) || !archs.every((a) => typeof a === 'string'))) {
    throw new Error(`${file}: config key 'architectures' = ${show(archs)}: expected a list of names`);
  }
  const byArch = (a: string) =>
    (Object.entries(SUPPORTED_MODEL_TYPES).find(([, name]) => name === a)?.[0] as ModelType | undefined) ?? undefined;
  let modelType: ModelType;
  if (json.model_type !== undefined) {
    if (typeof json.model_type !== 'string' || !(json.model_type in SUPPORTED_MODEL_TYPES)) {
      throw new Error(
        `${file}: model_type ${show(json.model_type)} is not supported; supported model types: ${supportedList()}`,
      );
    }
    modelType = json.model_type as ModelType;
  } else if (archs !== undefined && archs.length > 0) {
    const t = byArch(archs[0] as string);
    if (t === undefined)
      throw new Error(`${file}: architecture '${String(archs[0])}' is not supported; supported: ${supportedList()}`);
    modelType = t;
  } else {
    // Neither key: RMT's oldest checkpoints and hand-written configs; read as Llama, as before.
    modelType = 'llama';
  }
  for (const a of (archs ?? []) as string[]) {
    if (a !== SUPPORTED_MODEL_TYPES[modelType]) {
      throw new Error(
        `${file}: architecture '${a}' does not match model_type '${modelType}' (expects ${SUPPORTED_MODEL_TYPES[modelType]}); supported: ${supportedList()}`,
      );
    }
  }
  return modelType;
}

/**
 * Qwen2/Qwen3 sliding-window attention (transformers: window = sliding_window only if use_sliding_window;
 * layer_types, or else layers ≥ max_window_layers, say which layers use it). It is not implemented; it only
 * matters when some layer uses it with a window shorter than the longest sequence, and is refused then.
 */
function checkSlidingWindow(
  json: Json,
  modelType: ModelType,
  nLayers: number,
  maxSeqLen: number,
  refuse: (k: string, v: unknown, why: string) => never,
): void {
  const use = json.use_sliding_window ?? false;
  if (typeof use !== 'boolean') refuse('use_sliding_window', use, 'expected true or false');
  const window = json.sliding_window === undefined ? 4096 : json.sliding_window;
  if (window !== null && (typeof window !== 'number' || !Number.isInteger(window) || window <= 0))
    refuse('sliding_window', window, 'expected a positive integer or null');
  const maxWindowLayers = json.max_window_layers ?? 28;
  if (typeof maxWindowLayers !== 'number' || !Number.isInteger(maxWindowLayers))
    refuse('max_window_layers', maxWindowLayers, 'expected an integer');
  let types = json.layer_types as unknown;
  if (types !== undefined && types !== null) {
    if (
      !Array.isArray(types) ||
      types.length !== nLayers ||
      !types.every((t) => t === 'full_attention' || t === 'sliding_attention')
    ) {
      refuse('layer_types', types, `expected ${nLayers} entries of 'full_attention' | 'sliding_attention'`);
    }
  } else {
    types = Array.from({ length: nLayers }, (_, i) =>
      use && window !== null && i >= (maxWindowLayers as number) ? 'sliding_attention' : 'full_attention',
    );
  }
  const sliding = (types as string[]).some((t) => t === 'sliding_attention');
  if (use && window !== null && sliding && (window as number) < maxSeqLen) {
    refuse(
      'use_sliding_window',
      use,
      `${modelType} sliding-window attention (sliding_window ${String(window)} < max_position_embeddings ${maxSeqLen}, on the layers max_window_layers / layer_types name) is not implemented`,
    );
  }
}

/**
 * RoPE base and scaling from `rope_theta` + `rope_scaling` (transformers 4.x) or `rope_parameters`
 * (newer transformers, which moves rope_theta inside it). Without either, the family default θ.
 */
function readRope(
  json: Json,
  d: FamilyDefaults,
  maxSeqLen: number,
  refuse: (k: string, v: unknown, why: string) => never,
): { ropeTheta: number; ropeScaling: RopeScaling | undefined } {
  const params = json.rope_parameters ?? null;
  const scaling = json.rope_scaling ?? null;
  for (const [key, v] of [
    ['rope_parameters', params],
    ['rope_scaling', scaling],
  ] as const) {
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) refuse(key, v, 'expected an object or null');
  }
  if (params !== null && scaling !== null && show(params) !== show(scaling))
    refuse(
      'rope_scaling',
      scaling,
      'given together with a different rope_parameters; only one may say how RoPE is scaled',
    );
  const key = params !== null ? 'rope_parameters' : 'rope_scaling';
  const rope = (params ?? scaling ?? {}) as Json;

  const topTheta = json.rope_theta;
  const innerTheta = rope.rope_theta;
  for (const [k, v] of [
    ['rope_theta', topTheta],
    [`${key}.rope_theta`, innerTheta],
  ] as const) {
    if (v !== undefined && v !== null && (typeof v !== 'number' || !(v > 0)))
      refuse(k, v, 'expected a positive number');
  }
  if (typeof topTheta === 'number' && typeof innerTheta === 'number' && topTheta !== innerTheta)
    refuse(`${key}.rope_theta`, innerTheta, `disagrees with rope_theta ${topTheta}`);
  const ropeTheta = (innerTheta ?? topTheta ?? d.rope_theta) as number;

  for (const k of ['partial_rotary_factor'] as const) {
    const v = rope[k] ?? json[k];
    // modeling_rope_utils reads it from the config when present: only part of each head rotates.
    if (v !== undefined && v !== null && v !== 1)
      refuse(k, v, 'partial rotary embeddings are not implemented (only 1)');
  }
  if (typeof rope.type === 'string' && typeof rope.rope_type === 'string' && rope.type !== rope.rope_type)
    refuse(`${key}.type`, rope.type, `disagrees with rope_type '${rope.rope_type}'`);
  const type = rope.rope_type ?? rope.type ?? 'default';
  const allowed: Record<string, string[]> = {
    default: [],
    linear: ['factor'],
    dynamic: ['factor', 'original_max_position_embeddings'],
    llama3: ['factor', 'low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings'],
  };
  if (typeof type !== 'string' || !(type in allowed))
    refuse(`${key}.rope_type`, type, `supported RoPE types: ${Object.keys(allowed).join(', ')}`);
  const extra = Object.keys(rope).filter(
    (k) => !['type', 'rope_type', 'rope_theta', 'partial_rotary_factor', ...allowed[type as string]!].includes(k),
  );
  if (extra.length > 0)
    refuse(`${key}.${extra[0]}`, rope[extra[0]!], `not a parameter of RoPE type '${String(type)}' that RMT implements`);
  const factor = (k: string, required = true): number => {
    const v = rope[k];
    if (v === undefined && !required) return NaN;
    if (typeof v !== 'number' || !(v > 0))
      refuse(`${key}.${k}`, v, `RoPE type '${String(type)}' needs a positive number`);
    return v as number;
  };
  let ropeScaling: RopeScaling | undefined;
  if (type === 'linear') ropeScaling = { type: 'linear', factor: factor('factor') };
  else if (type === 'dynamic') {
    // transformers versions differ on whether dynamic NTK counts from this or from max_position_embeddings;
    // with no such disagreement it changes nothing up to max_position_embeddings (see ropeScalingSchema).
    const original = factor('original_max_position_embeddings', false);
    if (!Number.isNaN(original) && original !== maxSeqLen)
      refuse(
        `${key}.original_max_position_embeddings`,
        original,
        `dynamic RoPE with an original length other than max_position_embeddings ${maxSeqLen} is not implemented`,
      );
    ropeScaling = { type: 'dynamic', factor: factor('factor') };
  } else if (type === 'llama3') {
    ropeScaling = {
      type: 'llama3',
      factor: factor('factor'),
      lowFreqFactor: factor('low_freq_factor'),
      highFreqFactor: factor('high_freq_factor'),
      originalMaxPositionEmbeddings: factor('original_max_position_embeddings'),
    };
  }
  return { ropeTheta, ropeScaling };
}

/** The HF family that reproduces a config's switches exactly, or an error naming the switch no family has. */
export function modelTypeOf(c: LlamaConfig): ModelType {
  const fail = (why: string): never => {
    throw new Error(`toHfConfig: no Hugging Face architecture has ${why}; supported: ${supportedList()}`);
  };
  if (c.positionEncoding === 'learned') {
    if (c.qkNorm) fail('learned positions with qkNorm');
    if (c.qkvBias !== c.oBias) fail('learned positions with qkvBias ≠ oBias');
    return 'rmt-learned-pos';
  }
  if (c.qkNorm) {
    if (c.mlpBias) fail('qkNorm (Qwen3) with mlpBias');
    if (c.qkvBias !== c.oBias) fail('qkNorm (Qwen3) with qkvBias ≠ oBias (Qwen3 attention_bias covers both)');
    return 'qwen3';
  }
  if (c.qkvBias && !c.oBias) {
    if (c.mlpBias) fail('q/k/v biases without an o bias (Qwen2) and with mlpBias');
    return 'qwen2';
  }
  if (c.qkvBias !== c.oBias) fail('an o bias without q/k/v biases');
  return 'llama';
}

/**
 * config.json for a model, in the vocabulary of the family that reproduces it (modelTypeOf), so
 * transformers loads it into the same logits. Every forward-affecting key is written explicitly rather
 * than left to a family default.
 */
export function toHfConfig(c: LlamaConfig): Json {
  const modelType = modelTypeOf(c);
  const out: Json = {
    architectures: [SUPPORTED_MODEL_TYPES[modelType]],
    model_type: modelType,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim ?? c.dim / c.nHeads,
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxSeqLen,
    rope_theta: c.ropeTheta,
    rms_norm_eps: c.normEps,
    tie_word_embeddings: c.tieEmbeddings,
    hidden_act: c.activation === 'silu' ? 'silu' : 'gelu_pytorch_tanh',
    attention_dropout: 0,
    torch_dtype: 'float32',
  };
  const s = c.ropeScaling;
  if (s?.type === 'llama3') {
    out.rope_scaling = {
      rope_type: 'llama3',
      factor: s.factor,
      low_freq_factor: s.lowFreqFactor,
      high_freq_factor: s.highFreqFactor,
      original_max_position_embeddings: s.originalMaxPositionEmbeddings,
    };
  } else if (s) out.rope_scaling = { rope_type: s.type, factor: s.factor };
  if (modelType === 'llama' || modelType === 'rmt-learned-pos') {
    out.attention_bias = c.qkvBias;
    out.mlp_bias = c.mlpBias;
  } else {
    if (modelType === 'qwen3') out.attention_bias = c.qkvBias;
    out.use_sliding_window = false;
    out.max_window_layers = c.nLayers;
  }
  return out;
}
