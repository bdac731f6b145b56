// llama2.c's tokenizer format (tok*.bin) and its encoding algorithm (run.c: encode/decode):
// int32 max_token_length, then per id: float32 score, int32 length, bytes. Ids 0 <unk>, 1 <s>, 2 </s>,
// 3–258 byte fallback <0x00>…<0xFF>, then merged pieces.
import { readInput } from '@rmt/core';
import { utf8, utf8Decoder, type Tokenizer } from './tokenizer.js';

const BYTE_FALLBACK_OFFSET = 3;
/** No real vocabulary is this large; a header claiming more is a corrupt or hostile file. */
const MAX_VOCAB = 1 << 22;

export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c';
  readonly bosId = 1;
  readonly eosId = 2;
  readonly padId = 0;
  readonly pieces: Uint8Array[];
  readonly scores: Float32Array;
  private readonly pieceIndex: Map<string, number>;
  private readonly tokenBytesTable: Uint8Array[];

  constructor(pieces: Uint8Array[], scores: Float32Array) {
    this.pieces = pieces;
    this.scores = scores;
    // Keys are latin1 views of the bytes: exact for any byte sequence.
    this.pieceIndex = new Map();
    pieces.forEach((p, id) => {
      const key = Buffer.from(p).toString('latin1');
      if (!this.pieceIndex.has(key)) this.pieceIndex.set(key, id);
    });
    this.tokenBytesTable = pieces.map((piece, id) => {
      if (id < BYTE_FALLBACK_OFFSET) return new Uint8Array(0); // <unk>, <s>, </s>
      if (id < BYTE_FALLBACK_OFFSET + 256 && /^<0x[0-9A-F]{2}>$/.test(utf8Decoder.decode(piece))) {
        return new Uint8Array([id - BYTE_FALLBACK_OFFSET]);
      }
      return piece;
    });
  }

  static parse(bytes: Uint8Array, vocabSize: number, file = 'tokenizer'): Llama2cTokenizer {
    const fail = (problem: string): never => {
      throw new Error(`${file}: not a valid llama2.c tokenizer: ${problem}`);
    };
    if (!Number.isInteger(vocabSize) || vocabSize <= 0 || vocabSize > MAX_VOCAB)
      fail(`vocabulary size ${vocabSize} is out of range`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 4) fail('file is shorter than its 4-byte header');
    const maxLen = view.getInt32(0, true);
    if (maxLen <= 0 || maxLen > 1 << 16) fail(`max_token_length ${maxLen} is out of range`);
    let at = 4;
    const pieces: Uint8Array[] = [];
    const scores = new Float32Array(vocabSize);
    for (let id = 0; id < vocabSize; id++) {
      if (at + 8 > bytes.length) fail(`truncated at token ${id} of ${vocabSize} (offset ${at})`);
      scores[id] = view.getFloat32(at, true);
      const len = view.getInt32(at + 4, true);
      at += 8;
      if (len < 0 || len > maxLen) fail(`token ${id} has length ${len}, outside [0, ${maxLen}]`);
      if (at + len > bytes.length) fail(`truncated inside token ${id} (needs ${len} bytes at offset ${at})`);
      pieces.push(bytes.slice(at, at + len));
      at += len;
    }
    return new Llama2cTokenizer(pieces, scores);
  }

  static async load(path: string, vocabSize: number): Promise<Llama2cTokenizer> {
    return Llama2cTokenizer.parse(await readInput(path), vocabSize, path);
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  specialId(name: string): number | undefined {
    return name === '<unk>' ? 0 : name === '<s>' ? 1 : name === '</s>' ? 2 : undefined;
  }

  private lookup(bytes: Uint8Array): number | undefined {
    return this.pieceIndex.get(Buffer.from(bytes).toString('latin1'));
  }

  /**
   * As run.c's encode: a dummy " " prefix for non-empty text, one piece per UTF-8 character (byte
   * fallback when the character is not a piece), then merge the adjacent pair with the best-scoring
   * merged piece until none merges.
   */
  encode(text: string, options: { bos?: boolean } = {}): number[] {
    const ids: number[] = [];
    if (options.bos ?? true) ids.push(this.bosId);
    if (text.length === 0) return ids;
    const tokens: number[] = [];
    const space = this.lookup(utf8.encode(' '));
    if (space !== undefined) tokens.push(space);
    for (const char of text) {
      const bytes = utf8.encode(char);
      const id = this.lookup(bytes);
      if (id !== undefined) tokens.push(id);
      else for (const b of bytes) tokens.push(b + BYTE_FALLBACK_OFFSET);
    }
    for (;;) {
      let bestScore = -Infinity;
      let bestId = -1;
      let bestAt = -1;
      for (let i = 0; i + 1 < tokens.length; i++) {
        const a = this.pieces[tokens[i]!]!;
        const b = this.pieces[tokens[i + 1]!]!;
        const merged = new Uint8Array(a.length + b.length);
        merged.set(a);
        merged.set(b, a.length);
        const id = this.lookup(merged);
        if (id !== undefined && this.scores[id]! > bestScore) {
          bestScore = this.scores[id]!;
          bestId = id;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      tokens.splice(bestAt, 2, bestId);
    }
    return [...ids, ...tokens];
  }

  /** As run.c: the dummy-prefix space of the first piece after BOS is dropped, so decode(encode(t)) = t. */
  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    let afterBos = false;
    for (const id of ids) {
      if (id === this.bosId) {
        afterBos = true;
        continue;
      }
      let bytes = this.tokenBytes(id);
      if (afterBos && bytes[0] === 0x20) bytes = bytes.subarray(1);
      afterBos = false;
      parts.push(bytes);
    }
    return utf8Decoder.decode(Buffer.concat(parts));
  }

  tokenBytes(id: number): Uint8Array {
    return this.tokenBytesTable[id] ?? new Uint8Array(0);
  }

  toJSON() {
    return { kind: this.kind, vocabSize: this.vocabSize };
  }
}
