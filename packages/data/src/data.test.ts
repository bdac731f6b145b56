import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '@rmt/core';
import { ByteTokenizer, tokenBoundaries, tokensToBytes } from '@rmt/tokenizers';
import { fuzzParser } from '@rmt/testing';
import {
  buildWindows,
  checksum,
  checksumLine,
  checksumQuestion,
  ControlTokenFormat,
  findSites,
  LlmTextFormat,
  posttrainProblems,
  prefixMatchReward,
  readCorpus,
  reasoningExample,
  siteContext,
  siteContinuation,
  syntheticDocuments,
  syntheticTokenizer,
  trace,
} from './index.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('prefixMatchReward (METHOD.md §1)', () => {
  // A continuation of three tokens: " the" | " ca" | "fé" → boundaries 4, 7, 10 (é is 2 bytes).
  const continuation = utf8(' the café');
  const boundaries = [4, 7, 10];
  it.each([
    [' the', 1, 'one whole token, leading space included'],
    [' the ca', 1, 'two tokens'],
    [' the café', 1, 'three tokens, multi-byte UTF-8'],
    ['the', 0, 'missing the leading space'],
    [' th', 0, 'a byte prefix that is not on a token boundary'],
    [' the caf', 0, 'stops inside a token (and inside nothing else)'],
    [' the café!', 0, 'longer than the continuation'],
    [' thy', 0, 'not a prefix'],
    ['', 0, 'an empty answer'],
  ])('%j → %i (%s)', (prediction, expected) => {
    expect(prefixMatchReward(utf8(prediction), continuation, boundaries)).toBe(expected);
  });
  it('no answer → 0; half of a multi-byte character is not a boundary', () => {
    expect(prefixMatchReward(null, continuation, boundaries)).toBe(0);
    expect(prefixMatchReward(utf8(' the caf').slice(0, 9), continuation, boundaries)).toBe(0);
  });
});

describe('ControlTokenFormat', () => {
  const tok = syntheticTokenizer();
  const format = new ControlTokenFormat(tok, [4, 8, 16]);
  const id = (name: string) => tok.specialId(name)!;
  it('builds [CTX] context [B=n] [THINK], picking the nearest budget token', () => {
    expect(format.build([49, 50], 7)).toEqual([id('[CTX]'), 49, 50, id('[B=8]'), id('[THINK]')]);
    expect(format.build([49], 100)).toContain(id('[B=16]'));
    expect(format.build([49])).toEqual([id('[CTX]'), 49, id('[THINK]')]);
    // Keeping the last N context tokens (the synthetic task: the question line).
    expect(new ControlTokenFormat(tok, [], 4, 2).build([1, 2, 3])).toEqual([id('[CTX]'), 2, 3, id('[THINK]')]);
  });
  it('parses reasoning length and prediction; malformed completions have no answer', () => {
    const ok = tok.encodeWithSpecials('3768[/THINK][ANS]8</s>');
    expect(format.parse(ok)).toEqual({ reasoningTokens: 4, prediction: utf8('8') });
    expect(format.parse(tok.encodeWithSpecials('37683768'))).toEqual({ reasoningTokens: 8, prediction: null });
    expect(format.parse(tok.encodeWithSpecials('37[/THINK]8</s>')).prediction).toBeNull();
    expect(format.parse(tok.encodeWithSpecials('37[/THINK][ANS][THINK]</s>')).prediction).toBeNull();
    expect(format.parse(tok.encodeWithSpecials('[/THINK][ANS]12')).prediction).toEqual(utf8('12')); // cut off: no </s>
    expect(() => new ControlTokenFormat(new ByteTokenizer(), [])).toThrow(/no '\[CTX\]' token/);
  });
});

describe('LlmTextFormat', () => {
  const tok = new ByteTokenizer(['<s>', '</s>']);
  const format = new LlmTextFormat(tok);
  it('tells the budget and parses the last \\boxed{} after </think>', () => {
    const prompt = tok.decode(format.build(tok.encode('Once upon a'), 32));
    expect(prompt).toMatch(/about 32 reasoning tokens/);
    expect(prompt.endsWith('Once upon a\n\n<think>')).toBe(true);
    const completion = tok.encode('maybe \\boxed{x}</think> so \\boxed{ one} then \\boxed{ time}');
    expect(format.parse(completion)).toEqual({ reasoningTokens: 'maybe \\boxed{x}'.length, prediction: utf8(' time') });
    expect(format.parse(tok.encode('no close \\boxed{a}')).prediction).toBeNull();
    expect(format.parse(tok.encode('</think> nothing boxed')).prediction).toBeNull();
  });
});

describe('corpora', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmt-corpus-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('reads text with a separator, JSONL with a field, and folders in name order', async () => {
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c/a.txt'), 'one<|endoftext|>two\n<|endoftext|>  ');
    writeFileSync(join(dir, 'c/b.jsonl'), '{"text":"three"}\n\n{"text":"four","x":1}\n');
    expect(await readCorpus({ path: join(dir, 'c') })).toEqual(['one', 'two', 'three', 'four']);
    writeFileSync(join(dir, 'd.jsonl'), '{"body":"x"}\n');
    expect(await readCorpus({ path: join(dir, 'd.jsonl'), field: 'body' })).toEqual(['x']);
  });
  it('clear errors: missing file, empty, binary, invalid UTF-8, bad JSONL lines', async () => {
    await expect(readCorpus({ path: join(dir, 'nope.txt') })).rejects.toThrow(
      /nope\.txt: cannot read corpus \(no such file or folder\)/,
    );
    writeFileSync(join(dir, 'empty.txt'), '  \n');
    await expect(readCorpus({ path: join(dir, 'empty.txt') })).rejects.toThrow(
      /empty\.txt: the corpus has no documents/,
    );
    writeFileSync(join(dir, 'bin.txt'), Buffer.from([0x41, 0, 0x42]));
    await expect(readCorpus({ path: join(dir, 'bin.txt') })).rejects.toThrow(/bin\.txt: looks binary/);
    writeFileSync(join(dir, 'bad.txt'), Buffer.from([0x41, 0x42, 0xff, 0x43]));
    await expect(readCorpus({ path: join(dir, 'bad.txt') })).rejects.toThrow(/bad\.txt: invalid UTF-8 near byte 2/);
    writeFileSync(join(dir, 'bad.jsonl'), '{"text":"a"}\n{oops\n');
    await expect(readCorpus({ path: join(dir, 'bad.jsonl') })).rejects.toThrow(/bad\.jsonl:2: invalid JSON/);
    writeFileSync(join(dir, 'num.jsonl'), '{"text":5}\n');
    await expect(readCorpus({ path: join(dir, 'num.jsonl') })).rejects.toThrow(
      /num\.jsonl:1: field 'text' is not a string \(number\)/,
    );
  });
  it('one giant line (16 MB, no separator) is read as one document', async () => {
    const line = 'ab'.repeat(8 << 20);
    writeFileSync(join(dir, 'giant.txt'), line);
    const docs = await readCorpus({ path: join(dir, 'giant.txt') });
    expect(docs).toHaveLength(1);
    expect(docs[0]!.length).toBe(16 << 20);
  });
  it('fuzzed text and JSONL corpora: accepted, or an error naming the file', async () => {
    for (const [name, good] of [
      ['fuzz.jsonl', '{"text":"one two"}\n{"text":"three","n":1}\n\n{"text":"caf\u00e9"}\n'],
      ['fuzz.txt', 'first story.<|endoftext|>second, with café and 🙂.<|endoftext|>third'],
    ] as const) {
      const file = join(dir, name);
      const rejected = await fuzzParser(Buffer.from(good), file, async (bytes) => {
        writeFileSync(file, bytes);
        await readCorpus({ path: file });
      });
      expect(rejected).toBeGreaterThan(name.endsWith('.jsonl') ? 50 : 5);
    }
  });
});

describe('windows and sites', () => {
  const tok = syntheticTokenizer();
  it('cuts windows, finds answer sites after the marker, and keeps the continuation', () => {
    const windows = buildWindows(['12:3\n45:9\n', '7:7\n'], tok, 8);
    // Stream: <s> 1 2 : 3 \n 4 5 | : 9 \n <s> 7 : 7 \n → two full windows of 8.
    expect(windows).toHaveLength(2);
    const sites = findSites(windows, tok, { skipFirst: 2, continuationTokens: 3, eligible: { after: ':' } });
    expect(sites.map((s) => [s.window, s.position, String.fromCharCode(s.target)])).toEqual([
      [0, 4, '3'],
      [1, 6, '7'], // window 1 position 1 ('9') is also after ':', but inside skipFirst
    ]);
    const cont = siteContinuation(windows, sites[0]!, tok, 3);
    expect(Buffer.from(cont.bytes).toString()).toBe('3\n4');
    expect(cont.boundaries).toEqual([1, 2, 3]);
    expect(tok.decode(siteContext(windows, sites[0]!))).toBe('12:');
    const all = findSites(windows, tok, { skipFirst: 6, continuationTokens: 1, eligible: 'all' });
    expect(all.map((s) => s.position)).toEqual([6, 7, 6, 7]);
  });
});

describe('synthetic corpus', () => {
  it('checksums and traces by hand', () => {
    expect(checksum([3, 4, 9, 2])).toBe(8);
    expect(checksumLine([3, 4, 9, 2])).toBe('3492..:8');
    expect(checksumQuestion([7], 3)).toBe('7..:');
    expect(() => checksumQuestion([1, 2, 3], 2)).toThrow(/3 digits do not fit in 2 slots/);
    expect(trace([3, 4, 9, 2], 'concise')).toBe('3768');
    expect(trace([3, 4, 9, 2], 'explicit')).toBe('3;3+4=7;7+9=6;6+2=8');
    expect(trace([3, 4], 'checked')).toBe('3;3+4=7|3;3+4=7');
    expect(trace([5], 'explicit')).toBe('5');
  });
  it('is seeded, every line is a true checksum, and the base traces overthink several-fold', () => {
    const docs = syntheticDocuments(1, 50);
    expect(syntheticDocuments(1, 50)).toEqual(docs);
    expect(syntheticDocuments(2, 50)).not.toEqual(docs);
    for (const line of docs.join('').trim().split('\n')) {
      const [digits, sum] = line.split(':');
      expect(digits).toHaveLength(6);
      expect(Number(sum)).toBe(checksum([...digits!.replaceAll('.', '')].map(Number)));
    }
    const rng = createRng(3);
    const examples = Array.from({ length: 2000 }, () => reasoningExample(rng, 40));
    const ratio =
      examples.reduce((s, e) => s + e.trace.length, 0) /
      examples.reduce((s, e) => s + trace(e.digits, 'concise').length, 0);
    expect(ratio).toBeGreaterThan(4); // "several-fold" overthinking, as the paper's base
    expect(examples.filter((e) => e.budget !== undefined).length / examples.length).toBeCloseTo(0.5, 1);
    expect(examples.every((e) => e.context.length <= 40 && e.context.endsWith(checksumQuestion(e.digits)))).toBe(true);
    const problems = posttrainProblems(1, 20);
    expect(problems.every((p) => p.answer === String(checksum(p.digits)) && p.digits.length >= 3)).toBe(true);
  });
  it('boundaries of continuation tokens are bytes', () => {
    const tok = syntheticTokenizer();
    expect(tokenBoundaries(tok, tok.encode('8\n'))).toEqual([1, 2]);
    expect(Buffer.from(tokensToBytes(tok, tok.encodeWithSpecials('[ANS]8'))).toString()).toBe('8');
  });
});

describe('worked examples', () => {
  it('render is the inverse of parse in both formats', () => {
    const tok = syntheticTokenizer();
    const control = new ControlTokenFormat(tok, [4]);
    expect(control.parse(control.render(tok.encode('3768'), tok.encode('8')))).toEqual({
      reasoningTokens: 4,
      prediction: utf8('8'),
    });
    const plain = new ByteTokenizer(['<s>', '</s>']);
    const text = new LlmTextFormat(plain);
    expect(text.parse(text.render(plain.encode('so'), plain.encode(' time')))).toEqual({
      reasoningTokens: 2,
      prediction: utf8(' time'),
    });
  });
  it('the pretraining mix is half plain windows, half worked examples that parse to the true checksum', async () => {
    const { syntheticPretrainSequences } = await import('./index.js');
    const tok = syntheticTokenizer();
    const format = new ControlTokenFormat(tok, [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96]);
    const seqs = syntheticPretrainSequences(1, 200, tok, format, 48);
    const worked = seqs.filter((s) => s[0] === tok.specialId('[CTX]'));
    expect(worked.length).toBe(100);
    for (const s of worked) {
      const think = s.indexOf(tok.specialId('[THINK]')!);
      const digits = tok.decode(s.slice(1, think)).split('\n').at(-1)!.replace(/[.:]/g, '');
      const parsed = format.parse(s.slice(think + 1));
      expect(Buffer.from(parsed.prediction!).toString()).toBe(String(checksum([...digits].map(Number))));
    }
  });
});

describe('synthetic windows', () => {
  it('one document per window: every answer at a fixed position', async () => {
    const { syntheticWindowLength } = await import('./index.js');
    const tok = syntheticTokenizer();
    const windows = buildWindows(syntheticDocuments(4, 10), tok, syntheticWindowLength());
    expect(syntheticWindowLength()).toBe(46);
    expect(windows).toHaveLength(10);
    expect(windows.every((w) => w[0] === tok.bosId)).toBe(true);
    const sites = findSites(windows, tok, { skipFirst: 8, continuationTokens: 2, eligible: { after: ':' } });
    expect(new Set(sites.map((s) => s.position))).toEqual(new Set([8, 17, 26, 35, 44]));
    expect(sites).toHaveLength(50);
  });
});
