// Hugging Face tokenizer.json, through @huggingface/tokenizers (pure JS), and the chat template of
// tokenizer_config.json, through @huggingface/jinja. The library encodes and decodes text; the per-token
// bytes the prefix-match reward needs (METHOD.md §1) are recovered from the vocabulary strings: byte-level
// BPE (GPT-2 style byte↔unicode table: Llama 3, Qwen, SmolLM2) or SentencePiece style (▁ for a space,
// <0xXX> byte fallback: Llama 2, Mistral, TinyLlama). Added tokens stand for their own text (special ones
// for nothing).
import { readInput } from '@rmt/core';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { utf8, type ChatMessage, type ChatTemplateOptions, type Tokenizer } from './tokenizer.js';

/** GPT-2's reversible byte → printable-unicode table, inverted. */
function byteLevelDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (printable.includes(b)) map.set(String.fromCharCode(b), b);
    else map.set(String.fromCharCode(256 + extra++), b);
  }
  return map;
}

/** End-of-turn tokens of the common chat formats: generation stops on any the vocabulary has. */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|end_of_text|>', '<|endoftext|>', '<end_of_turn>', '</s>'];

interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
}

/** Where a tokenizer's files came from, for error messages. */
export interface HuggingFaceTokenizerSources {
  /** tokenizer.json (default: `tokenizer.json`). */
  tokenizer?: string;
  /** tokenizer_config.json (default: `tokenizer_config.json`). */
  config?: string;
  /** chat_template.jinja, when the template came from that file instead of the config. */
  chatTemplate?: string;
}

export class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = 'huggingface';
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** The token strings of bos/eos/pad in tokenizer_config.json (passed to the chat template). */
  readonly specialTokens: Readonly<Record<'bos_token' | 'eos_token' | 'pad_token' | 'unk_token', string | undefined>>;
  /** Chat templates by name (`default` for a plain string `chat_template`). */
  readonly chatTemplates: ReadonlyMap<string, string>;
  /** Ids that end an assistant turn: eos plus the end-of-turn tokens of the common chat formats present. */
  readonly endOfTurnIds: readonly number[];
  private readonly inner: HfTokenizer;
  private readonly vocab: string[];
  private readonly special: Map<string, number>;
  private readonly added: Map<number, string>;
  private readonly byteLevel: boolean;
  private readonly bytesCache = new Map<number, Uint8Array>();
  private readonly compiled = new Map<string, Template>();
  private readonly sources: Required<Omit<HuggingFaceTokenizerSources, 'chatTemplate'>> & { chatTemplate?: string };
  private static readonly byteTable = byteLevelDecoder();

  /**
   * @param json tokenizer.json
   * @param config tokenizer_config.json (bos/eos/pad tokens, `chat_template`)
   * @param sources file names for error messages; `chatTemplate` is the text of a chat_template.jinja,
   *   used when the config has no `chat_template`.
   */
  constructor(
    readonly json: Record<string, unknown>,
    readonly config: Record<string, unknown> = {},
    sources: HuggingFaceTokenizerSources & { chatTemplateText?: string } = {},
  ) {
    this.sources = {
      tokenizer: sources.tokenizer ?? 'tokenizer.json',
      config: sources.config ?? 'tokenizer_config.json',
      chatTemplate: sources.chatTemplate,
    };
    this.inner = new HfTokenizer(json, config);
    const model = this.inner.model as unknown as { vocab: string[] } | null;
    if (!model?.vocab) throw new Error(`${this.sources.tokenizer}: no model vocabulary`);
    this.vocab = [...model.vocab];
    const added = (json.added_tokens as AddedTokenJson[] | undefined) ?? [];
    this.special = new Map(added.filter((t) => t.special).map((t) => [t.content, t.id]));
    this.added = new Map(added.map((t) => [t.id, t.content]));
    for (const t of added) this.vocab[t.id] = t.content;
    this.byteLevel = JSON.stringify(json.decoder ?? {}).includes('"ByteLevel"');

    // bos/eos/pad: a string or an AddedToken object ({content, …}); null means "none" (Qwen's bos_token).
    const tokenString = (key: string): string | null | undefined => {
      const v = config[key];
      if (v === null) return null;
      if (v === undefined) return undefined;
      const content = typeof v === 'string' ? v : (v as { content?: unknown }).content;
      if (typeof content !== 'string')
        throw new Error(
          `${this.sources.config}: ${key} must be a string or an object with a string 'content', got ${JSON.stringify(v)}`,
        );
      return content;
    };
    const named = (key: string): number | null | undefined => {
      const content = tokenString(key);
      if (content === null || content === undefined) return content;
      const id = this.special.get(content) ?? this.inner.token_to_id(content);
      if (id === undefined)
        throw new Error(`${this.sources.config}: ${key} '${content}' is not a token of ${this.sources.tokenizer}`);
      return id;
    };
    const orUndefined = (v: number | null | undefined, fallback: () => number | undefined) =>
      v === null ? undefined : (v ?? fallback());
    this.bosId = orUndefined(
      named('bos_token'),
      () => this.special.get('<s>') ?? this.special.get('<|begin_of_text|>'),
    );
    this.eosId = orUndefined(
      named('eos_token'),
      () => this.special.get('</s>') ?? this.special.get('<|endoftext|>') ?? this.special.get('<|end_of_text|>'),
    );
    this.padId = orUndefined(named('pad_token'), () => undefined) ?? this.eosId;
    const text = (id: number | undefined) => (id === undefined ? undefined : this.vocab[id]);
    const unk = tokenString('unk_token');
    this.specialTokens = {
      bos_token: text(this.bosId),
      eos_token: text(this.eosId),
      pad_token: text(this.padId),
      unk_token: unk ?? undefined,
    };
    this.endOfTurnIds = [
      ...new Set([
        ...(this.eosId === undefined ? [] : [this.eosId]),
        ...END_OF_TURN.map((t) => this.special.get(t)).filter((id) => id !== undefined),
      ]),
    ];

    // chat_template: a string, or (transformers' multi-template form) a list of {name, template}.
    const templates = new Map<string, string>();
    const raw = config.chat_template;
    if (typeof raw === 'string') templates.set('default', raw);
    else if (Array.isArray(raw)) {
      raw.forEach((entry: unknown, i) => {
        const e = entry as { name?: unknown; template?: unknown } | null;
        if (typeof e?.name !== 'string' || typeof e.template !== 'string') {
          throw new Error(
            `${this.sources.config}: chat_template[${i}] must be {"name": string, "template": string}, got ${JSON.stringify(entry)?.slice(0, 80)}`,
          );
        }
        templates.set(e.name, e.template);
      });
    } else if (raw !== undefined && raw !== null)
      throw new Error(
        `${this.sources.config}: chat_template must be a string or a list of {name, template}, got ${typeof raw}`,
      );
    if (templates.size === 0 && sources.chatTemplateText !== undefined)
      templates.set('default', sources.chatTemplateText);
    this.chatTemplates = templates;
  }

  /**
   * Load tokenizer.json, and beside it tokenizer_config.json (bos/eos/pad, chat_template) and
   * chat_template.jinja (newer transformers save the template there), when present.
   */
  static async load(path: string): Promise<HuggingFaceTokenizer> {
    const parse = async (file: string) => {
      const text = await readInput(file, 'utf8');
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`${file}: not valid JSON, truncated or corrupt (${(error as Error).message})`, {
          cause: error,
        });
      }
    };
    const configPath = join(dirname(path), 'tokenizer_config.json');
    const jinjaPath = join(dirname(path), 'chat_template.jinja');
    const [json, config] = [await parse(path), existsSync(configPath) ? await parse(configPath) : {}];
    const chatTemplateText = existsSync(jinjaPath) ? await readInput(jinjaPath, 'utf8') : undefined;
    try {
      return new HuggingFaceTokenizer(json, config, {
        tokenizer: path,
        config: configPath,
        chatTemplate: chatTemplateText === undefined ? undefined : jinjaPath,
        chatTemplateText,
      });
    } catch (error) {
      const message = (error as Error).message;
      // Our own errors already name their file; the library's do not.
      if (message.startsWith(path) || message.startsWith(configPath)) throw error;
      throw new Error(`${path}: not a usable tokenizer (${message})`, { cause: error });
    }
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** The default chat template (`default`, else the only one), or undefined when the tokenizer has none. */
  get chatTemplate(): string | undefined {
    return (
      this.chatTemplates.get('default') ??
      (this.chatTemplates.size === 1 ? [...this.chatTemplates.values()][0] : undefined)
    );
  }

  /**
   * Render messages with the chat template, as transformers' `apply_chat_template(tokenize=False)`:
   * the template sees `messages`, `add_generation_prompt`, the bos/eos/pad/unk token strings and, when
   * given, `enable_thinking` (Qwen3's switch: the template tests `enable_thinking is defined`).
   */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const name =
      options.template ?? (this.chatTemplates.has('default') ? 'default' : [...this.chatTemplates.keys()][0]);
    const file = this.sources.chatTemplate ?? this.sources.config;
    const source = name === undefined ? undefined : this.chatTemplates.get(name);
    if (source === undefined) {
      throw new Error(
        this.chatTemplates.size === 0
          ? `${file}: no chat_template (the tokenizer has no chat format)`
          : `${file}: no chat template named '${name}' (have ${[...this.chatTemplates.keys()].join(', ')})`,
      );
    }
    const label = `chat_template${name === 'default' ? '' : ` '${name}'`}`;
    let template = this.compiled.get(name!);
    if (!template) {
      try {
        template = new Template(source);
      } catch (error) {
        throw new Error(`${file}: ${label} does not parse: ${(error as Error).message}`, { cause: error });
      }
      this.compiled.set(name!, template);
    }
    const variables: Record<string, unknown> = {
      ...options.variables,
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: options.addGenerationPrompt ?? false,
    };
    for (const [k, v] of Object.entries(this.specialTokens)) if (v !== undefined) variables[k] = v;
    if (options.enableThinking !== undefined) variables.enable_thinking = options.enableThinking;
    try {
      return template.render(variables);
    } catch (error) {
      throw new Error(`${file}: ${label} failed to render: ${(error as Error).message}`, { cause: error });
    }
  }

  specialId(name: string): number | undefined {
    return this.special.get(name);
  }

  /** Text → ids. As Hugging Face does, added tokens written in the text (e.g. `<|im_start|>`) become their ids. */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = text.length === 0 ? [] : this.inner.encode(text, { add_special_tokens: false }).ids;
    return options.bos && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return ''; // the library throws on an empty list
    return this.inner.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  /** Ids → text with special tokens written by name (for logs and rollouts). */
  render(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    return this.inner.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /**
   * The bytes a token stands for. Byte-level: each vocabulary character maps back to one byte. SentencePiece:
   * `<0xXX>` is that byte, `▁` is a space (so the dummy-prefix space of a text's first piece is counted, as in
   * llama2.c). Added tokens: their text as UTF-8; special ones: none.
   */
  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache.get(id);
    if (cached) return cached;
    const piece = this.vocab[id];
    let bytes: Uint8Array;
    if (piece === undefined || this.special.has(piece)) bytes = new Uint8Array(0);
    else if (this.added.get(id) === piece) bytes = utf8.encode(piece);
    else if (this.byteLevel)
      bytes = new Uint8Array([...piece].map((ch) => HuggingFaceTokenizer.byteTable.get(ch) ?? 0x3f));
    else {
      const hex = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      bytes = hex ? new Uint8Array([parseInt(hex[1]!, 16)]) : utf8.encode(piece.replaceAll('\u2581', ' '));
    }
    this.bytesCache.set(id, bytes);
    return bytes;
  }

  toJSON() {
    return { kind: this.kind };
  }
}
