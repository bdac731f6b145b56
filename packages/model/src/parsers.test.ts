// Defensive parsing: every malformed input is a clear error naming the file and the problem.
import { describe, expect, it } from 'vitest';
import { Llama2cTokenizer, parseLlama2c } from './index.js';

describe('llama2.c checkpoint header', () => {
  const header = (fields: number[]) => new Uint8Array(new Int32Array(fields).buffer);
  it.each([
    ['a short file', new Uint8Array(10), /shorter than the 28-byte header/],
    ['a negative dimension', header([-64, 172, 5, 8, 4, 512, 512]), /header field dim = -64 is out of range/],
    ['a huge dimension', header([1 << 30, 172, 5, 8, 4, 512, 512]), /header field dim = 1073741824 is out of range/],
    ['inconsistent heads', header([64, 172, 5, 8, 3, 512, 512]), /nKvHeads/],
    ['a truncated body', header([64, 172, 5, 8, 4, 512, 512]), /truncated: token_embedding needs 131072 bytes/],
    ['a version-1 export', header([0x616b3432, 1, 0, 0, 0, 0, 0]), /version 1\/2/],
  ])('rejects %s', (_name, bytes, message) => {
    expect(() => parseLlama2c(bytes, 'm.bin')).toThrow(message);
  });
});

describe('llama2.c tokenizer file', () => {
  it('rejects truncation and absurd lengths, naming the token', () => {
    const bytes = new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 65]);
    expect(() => Llama2cTokenizer.parse(bytes, 3, 'tok.bin')).toThrow(/tok\.bin: .*truncated inside token 0/);
    const huge = new Uint8Array([16, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 127]);
    expect(() => Llama2cTokenizer.parse(huge, 1, 'tok.bin')).toThrow(/token 0 has length 2147483647/);
    expect(() => Llama2cTokenizer.parse(bytes, -5, 'tok.bin')).toThrow(/vocabulary size -5/);
  });
});
