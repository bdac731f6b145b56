/** One interface for every tokenizer: byte-exact encode/decode and token byte boundaries. */
export interface Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  /** Beginning/end of sequence and padding ids, where the vocabulary has them. */
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  /** Text → ids. `bos` prepends the BOS token (where the tokenizer has one). */
  encode(text: string, options?: { bos?: boolean }): number[];
  /** Ids → text; decode(encode(text)) === text. */
  decode(ids: readonly number[]): string;
  /** The bytes one token stands for (empty for special tokens). */
  tokenBytes(id: number): Uint8Array;
  /** Id of a special token by name (e.g. `[THINK]`), or undefined. */
  specialId(name: string): number | undefined;
  /** Ids → text with special tokens written by name (for logs), where the tokenizer can. */
  render?(ids: readonly number[]): string;
  /** The chat template (Hugging Face tokenizers of instruction models); undefined or absent when none. */
  readonly chatTemplate?: string | undefined;
  /** Messages → the prompt text in the model's chat format (where the tokenizer has a chat template). */
  applyChatTemplate?(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** Ids that end an assistant turn (eos and the chat format's end-of-turn tokens), where known. */
  readonly endOfTurnIds?: readonly number[];
  /** A JSON-serialisable description to save with a checkpoint. */
  toJSON(): unknown;
}

/** One message of a chat (`role`: system, user, assistant). */
export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** End with the opening of an assistant turn (transformers' `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
  /** Qwen3's `enable_thinking`; left undefined in the template when not given. */
  enableThinking?: boolean;
  /** Which named template (the list form of `chat_template`); default `default`. */
  template?: string;
  /** More template variables (e.g. `tools`). */
  variables?: Record<string, unknown>;
}

/**
 * Cumulative byte lengths after each token: [len(t₀), len(t₀t₁), …]. The prefix-match reward
 * (METHOD.md §1) accepts a prediction only if its byte length is one of these.
 */
export function tokenBoundaries(tokenizer: Pick<Tokenizer, 'tokenBytes'>, ids: readonly number[]): number[] {
  const out: number[] = [];
  let total = 0;
  for (const id of ids) out.push((total += tokenizer.tokenBytes(id).length));
  return out;
}

/** Concatenated bytes of tokens (special tokens contribute nothing). */
export function tokensToBytes(tokenizer: Pick<Tokenizer, 'tokenBytes'>, ids: readonly number[]): Uint8Array {
  const parts = ids.map((id) => tokenizer.tokenBytes(id));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

export const utf8 = new TextEncoder();
/** Invalid sequences (a token split inside a character) decode to U+FFFD, never throw. */
export const utf8Decoder = new TextDecoder('utf-8');
