import { describe, expect, it } from 'vitest';
import { ByteTokenizer, HuggingFaceTokenizer, tokenBoundaries, tokensToBytes } from './index.js';
import { addedToken, byteLevelBpeJson } from '@rmt/testing';

describe('ByteTokenizer', () => {
  const tok = new ByteTokenizer(['<pad>', '<s>', '</s>', '[THINK]', '[/THINK]']);
  it('is byte-exact on round trips, multi-byte UTF-8 included', () => {
    for (const text of ['', 'abc', 'naïve café 日本 🙂', '\u0000\n\t']) expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.encode('é')).toEqual([0xc3, 0xa9]);
    expect(tok.encode('a', { bos: true })).toEqual([257, 97]);
  });
  it('parses special tokens only when asked, and renders them by name', () => {
    expect(tok.encode('[THINK]')).toHaveLength(7);
    const ids = tok.encodeWithSpecials('12[THINK]3+4[/THINK]7');
    expect(ids).toEqual([49, 50, 259, 51, 43, 52, 260, 55]);
    expect(tok.render(ids)).toBe('12[THINK]3+4[/THINK]7');
    expect(tok.decode(ids)).toBe('123+47');
  });
  it('gives token boundaries in bytes (specials are empty)', () => {
    expect(tokenBoundaries(tok, [...tok.encode('é'), 259, 97])).toEqual([1, 2, 2, 3]);
    expect(tok.vocabSize).toBe(261);
    expect(() => new ByteTokenizer(['a', 'a'])).toThrow(/listed twice/);
  });
});

describe('HuggingFaceTokenizer (byte-level BPE tokenizer.json)', () => {
  // A tiny GPT-2-style tokenizer.json built here: 256 byte symbols, three merges, one special token.
  const json = byteLevelBpeJson(
    { he: 256, Ġt: 257, Ġthe: 258 },
    ['h e', 'Ġ t', 'Ġt he'],
    [addedToken(259, '<|endoftext|>', true)],
  );
  const vocab: Record<string, number> = json.model.vocab;
  const tok = new HuggingFaceTokenizer(json, { eos_token: '<|endoftext|>' });

  it('encodes with the merges and decodes byte-exactly', () => {
    const ids = tok.encode('the the');
    expect(ids).toEqual([vocab['t'], 256, 258]);
    for (const text of ['the the', ' leading', 'café 🙂', 'a\nb']) expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.eosId).toBe(259);
  });

  it('recovers each token’s bytes, including halves of a multi-byte character', () => {
    expect(Buffer.from(tok.tokenBytes(258)).toString()).toBe(' the');
    const ids = tok.encode('é');
    expect(ids).toHaveLength(2);
    expect(Array.from(tokensToBytes(tok, ids))).toEqual([0xc3, 0xa9]);
    expect(tokenBoundaries(tok, tok.encode('the the'))).toEqual([1, 3, 7]);
    expect(tok.tokenBytes(259)).toHaveLength(0);
  });
});
