// The synthetic task's knobs (data.synthetic.*): the defaults give today's corpus exactly, each knob does what
// README "The synthetic task" says, and a knob the run would not honour is refused by name.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRng } from '@rmt/core';
import {
  checksum,
  dataConfigSchema,
  DEFAULT_SYNTHETIC,
  reasoningExample,
  runningSums,
  syntheticConfigSchema,
  syntheticDocuments,
  syntheticOptionsOf,
  trace,
} from './index.js';

const hash = (docs: string[]) => createHash('sha256').update(docs.join('\u0000')).digest('hex');

describe('data.synthetic knobs', () => {
  it('defaults: the generator options of today (same documents, same pretraining examples)', () => {
    const knobs = syntheticOptionsOf(syntheticConfigSchema.parse({}));
    expect(hash(syntheticDocuments(3, 200, knobs))).toBe(hash(syntheticDocuments(3, 200)));
    const a = createRng('x');
    const b = createRng('x');
    for (let i = 0; i < 200; i++)
      expect(reasoningExample(a, 44, knobs)).toEqual(reasoningExample(b, 44, DEFAULT_SYNTHETIC));
  });

  it('overthink redundant: the long traces are the concise trace re-checked, 2× or 4×', () => {
    const digits = [3, 4, 9, 2];
    expect(trace(digits, 'explicit', 'redundant')).toBe('3768|3768');
    expect(trace(digits, 'checked', 'redundant')).toBe('3768|3768|3768|3768');
    expect(trace(digits, 'explicit')).toBe('3;3+4=7;7+9=6;6+2=8');
    const rng = createRng('r');
    const options = syntheticOptionsOf(syntheticConfigSchema.parse({ overthink: 'redundant' }));
    for (let i = 0; i < 300; i++) {
      const e = reasoningExample(rng, 44, options);
      // Every trace ends with the running sums, so the answer follows from its last digit.
      expect(e.trace.split('|').every((part) => part === runningSums(e.digits).join(''))).toBe(true);
      expect(e.answer).toBe(String(checksum(e.digits)));
    }
  });

  it('difficulty range and repeated digits', () => {
    const lines = (o: object) =>
      syntheticDocuments(5, 100, syntheticOptionsOf(syntheticConfigSchema.parse(o))).flatMap((d) =>
        d.trim().split('\n'),
      );
    const digitsOf = (line: string) => line.split(':')[0]!.replace(/\./g, '');
    expect(lines({ minDigits: 5 }).every((l) => digitsOf(l).length >= 5 && l.length === 8)).toBe(true);
    const share = (ls: string[]) => {
      let same = 0;
      let pairs = 0;
      for (const l of ls) {
        const d = digitsOf(l);
        for (let i = 1; i < d.length; i++) {
          pairs++;
          if (d[i] === d[i - 1]) same++;
        }
      }
      return same / pairs;
    };
    expect(share(lines({}))).toBeLessThan(0.15);
    expect(share(lines({ repeatProbability: 0.5 }))).toBeGreaterThan(0.45);
    for (const l of lines({ repeatProbability: 0.5 }))
      expect(l.at(-1)).toBe(String(checksum([...digitsOf(l)].map(Number))));
  });

  it('refuses what it would not honour, by name', () => {
    expect(() => syntheticConfigSchema.parse({ overthink: 'long' })).toThrow(/overthink/);
    expect(syntheticConfigSchema.safeParse({ minDigits: 5, maxDigits: 3 }).error?.issues[0]).toMatchObject({
      path: ['minDigits'],
      message: 'minDigits must be at most maxDigits',
    });
    expect(syntheticConfigSchema.safeParse({ maxDigits: 7 }).success).toBe(false);
    const file = dataConfigSchema.safeParse({ corpus: { path: 'x.txt' }, synthetic: { repeatProbability: 0.5 } });
    expect(file.error?.issues[0]?.message).toMatch(
      /data.synthetic.repeatProbability applies to data.corpus 'synthetic' only/,
    );
    expect(dataConfigSchema.safeParse({ corpus: { path: 'x.txt' } }).success).toBe(true);
  });
});
