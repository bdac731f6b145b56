import { utf8, utf8Decoder, type Tokenizer } from './tokenizer.js';

/**
 * Byte-level tokenizer for tiny models trained from scratch: ids 0–255 are bytes, then named special
 * tokens (control tokens of the compact prompt format, budget tokens, BOS/EOS/PAD).
 */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  readonly specials: readonly string[];
  private readonly specialIndex: Map<string, number>;
  private readonly byteTable: Uint8Array[];

  constructor(specials: readonly string[] = ['<pad>', '<s>', '</s>']) {
    const seen = new Set<string>();
    for (const s of specials) {
      if (s.length === 0) throw new Error('ByteTokenizer: a special token name is empty');
      if (seen.has(s)) throw new Error(`ByteTokenizer: special token '${s}' is listed twice`);
      seen.add(s);
    }
    this.specials = [...specials];
    this.specialIndex = new Map(specials.map((s, i) => [s, 256 + i]));
    this.byteTable = Array.from({ length: 256 }, (_, b) => new Uint8Array([b]));
  }

  get vocabSize(): number {
    return 256 + this.specials.length;
  }
  get bosId() {
    return this.specialIndex.get('<s>');
  }
  get eosId() {
    return this.specialIndex.get('</s>');
  }
  get padId() {
    return this.specialIndex.get('<pad>');
  }

  specialId(name: string): number | undefined {
    return this.specialIndex.get(name);
  }

  /** Plain bytes; special tokens are never parsed out of text (use {@link encodeWithSpecials}). */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids = Array.from(utf8.encode(text));
    return options.bos && this.bosId !== undefined ? [this.bosId, ...ids] : ids;
  }

  /** Like encode, but literal special-token names in the text (e.g. `[THINK]`) become their ids. */
  encodeWithSpecials(text: string): number[] {
    if (this.specials.length === 0) return this.encode(text);
    const names = [...this.specials]
      .sort((a, b) => b.length - a.length)
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const out: number[] = [];
    for (const part of text.split(new RegExp(`(${names.join('|')})`))) {
      const special = this.specialIndex.get(part);
      if (special !== undefined) out.push(special);
      else if (part.length > 0) out.push(...utf8.encode(part));
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    return utf8Decoder.decode(new Uint8Array(ids.filter((id) => id < 256)));
  }

  /** Ids → text with special tokens written by name (for logs and rollouts). */
  render(ids: readonly number[]): string {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      out += utf8Decoder.decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id < 256) bytes.push(id);
      else {
        flush();
        out += this.specials[id - 256] ?? `<unk:${id}>`;
      }
    }
    flush();
    return out;
  }

  tokenBytes(id: number): Uint8Array {
    return id >= 0 && id < 256 ? this.byteTable[id]! : new Uint8Array(0);
  }

  toJSON() {
    return { kind: this.kind, specials: this.specials };
  }
}
