// Hugging Face tokenizer.json, through @huggingface/tokenizers (pure JS). The library encodes and
// decodes text; the per-token bytes the prefix-match reward needs are recovered from the vocabulary
// strings: byte-level BPE (GPT-2 style byte↔unicode table) or SentencePiece style (▁, <0xXX>).
import { readInput } from '@rmt/core';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { utf8, type Tokenizer } from './tokenizer.js';

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

export class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = 'huggingface';
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly padId: number | undefined;
  private readonly inner: HfTokenizer;
  private readonly vocab: string[];
  private readonly special: Map<string, number>;
  private readonly byteLevel: boolean;
  private readonly bytesCache = new Map<number, Uint8Array>();
  private static readonly byteTable = byteLevelDecoder();

  constructor(
    readonly json: Record<string, unknown>,
    readonly config: Record<string, unknown> = {},
  ) {
    this.inner = new HfTokenizer(json, config);
    const model = this.inner.model as unknown as { vocab: string[] } | null;
    if (!model?.vocab) throw new Error('tokenizer.json: no model vocabulary');
    this.vocab = [...model.vocab];
    const added = (json.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? [];
    this.special = new Map(added.filter((t) => t.special).map((t) => [t.content, t.id]));
    for (const t of added) this.vocab[t.id] = t.content;
    const decoderType = JSON.stringify(json.decoder ?? {});
    this.byteLevel = decoderType.includes('"ByteLevel"');
    const named = (key: string) => {
      const v = config[key];
      const content = typeof v === 'string' ? v : (v as { content?: string } | undefined)?.content;
      return content === undefined ? undefined : this.special.get(content);
    };
    this.bosId = named('bos_token') ?? this.special.get('<s>') ?? this.special.get('<|begin_of_text|>');
    this.eosId = named('eos_token') ?? this.special.get('</s>') ?? this.special.get('<|endoftext|>') ?? this.special.get('<|end_of_text|>');
    this.padId = named('pad_token') ?? this.eosId;
  }

  /** Load tokenizer.json (and tokenizer_config.json beside it, when present). */
  static async load(path: string): Promise<HuggingFaceTokenizer> {
    const parse = async (file: string) => {
      const text = await readInput(file, 'utf8');
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`${file}: invalid tokenizer JSON (${(error as Error).message})`, { cause: error });
      }
    };
    const configPath = join(dirname(path), 'tokenizer_config.json');
    const [json, config] = [await parse(path), existsSync(configPath) ? await parse(configPath) : {}];
    try {
      return new HuggingFaceTokenizer(json, config);
    } catch (error) {
      // The library's own errors do not say which file they came from.
      throw new Error(`${path}: not a usable tokenizer (${(error as Error).message})`, { cause: error });
    }
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  specialId(name: string): number | undefined {
    return this.special.get(name);
  }

  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = this.inner.encode(text, { add_special_tokens: false }).ids;
    return options.bos && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    return this.inner.decode([...ids], { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  }

  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesCache.get(id);
    if (cached) return cached;
    const piece = this.vocab[id];
    let bytes: Uint8Array;
    if (piece === undefined || this.special.has(piece)) bytes = new Uint8Array(0);
    else if (this.byteLevel) bytes = new Uint8Array([...piece].map((ch) => HuggingFaceTokenizer.byteTable.get(ch) ?? 0x3f));
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
