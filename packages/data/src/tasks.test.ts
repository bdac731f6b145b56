// Verifiable tasks (METHOD.md §6): GSM8K and MATH-500 loaders, answer normalisation and equivalence. Hand-written
// pairs, then the real test sets when the shared data is present.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeOrSkip, sharedData, sharedDataSkip } from '@rmt/testing';
import {
  answersEquivalent,
  answerValue,
  extractAnswer,
  gsm8kFinalAnswer,
  lastBoxed,
  normalizeAnswer,
  readGsm8k,
  readMath,
} from './index.js';

describe('answer equivalence', () => {
  it.each([
    ['70,000', '70000', 'thousands separators'],
    ['1{,}000', '1000', 'LaTeX thousands separator'],
    ['-5', '−5'.replace('−', '-'), 'sign'],
    ['+5', '5', 'leading plus'],
    ['18', '18.0', 'trailing .0'],
    ['18', '18.00', 'trailing zeros'],
    ['0.5', '.5', 'leading zero'],
    ['$18', '18', 'dollar sign'],
    ['\\$18.00', '18', 'escaped dollar sign'],
    ['50\\%', '50', 'percent'],
    ['50%', '50', 'percent sign'],
    ['5 dollars', '5', 'unit word'],
    ['12 square feet', '12', 'unit words'],
    ['10\\text{ cm}', '10', '\\text{} unit'],
    ['20\\text{ cm}^2', '20', 'squared unit'],
    ['90^\\circ', '90', 'degrees'],
    ['90^{\\circ}', '90', 'degrees in braces'],
    ['\\frac{1}{2}', '0.5', 'fraction vs decimal'],
    ['\\dfrac{1}{2}', '\\frac12', '\\dfrac and the \\frac12 shorthand'],
    ['\\tfrac{3}{4}', '3/4', '\\tfrac vs a/b'],
    ['-\\frac{1}{2}', '\\frac{-1}{2}', 'sign inside or outside'],
    ['\\left( 3, \\frac{\\pi}{2} \\right)', '(3,\\frac{\\pi}{2})', '\\left \\right and spaces'],
    ['(1, 0.5)', '\\left(1,\\frac{1}{2}\\right)', 'tuples element by element'],
    ['p - q', 'p-q', 'spaces'],
    ['x = 5', '5', 'a short left-hand side'],
    ['\\text{Evelyn}', 'Evelyn', '\\text{} as the answer'],
    ['11\\sqrt2', '11\\sqrt{2}', '\\sqrt2 shorthand'],
    ['The answer is \\boxed{\\frac{14}{3}}.', '\\frac{14}{3}', '\\boxed{} in a model output'],
    ['\\boxed{\\dfrac{14}{3}}', '4.666666666666667', 'value of a fraction'],
  ])('%s ≡ %s (%s)', (a, b) => {
    expect(answersEquivalent(a, b)).toBe(true);
    expect(answersEquivalent(b, a)).toBe(true);
  });

  it.each([
    ['5', '6', 'different numbers'],
    ['2x', '2', 'a variable is not a unit'],
    ['\\frac{1}{2}', '\\frac{1}{3}', 'different fractions'],
    ['1,2', '12', 'a list is not a number'],
    ['1,234', '1.234', 'thousands separator vs decimal point'],
    ['(1,2)', '[1,2]', 'open vs closed interval'],
    ['(1,2)', '(1,2,3)', 'different arity'],
    ['-5', '5', 'sign'],
    ['\\sqrt{2}', '2', 'root'],
    ['x^2', 'x^3', 'exponents'],
    ['50\\%', '0.5', 'a percent is not rescaled (as MATH)'],
    ['\\text{(A)}', '\\text{(B)}', 'choices'],
    ['', '0', 'empty answer'],
  ])('%s ≢ %s (%s)', (a, b) => {
    expect(answersEquivalent(a, b)).toBe(false);
    expect(answersEquivalent(b, a)).toBe(false);
  });

  it('normalises to a canonical string and values', () => {
    expect(normalizeAnswer('\\left( 3, \\dfrac{\\pi}{2} \\right)')).toBe('(3,\\frac{\\pi}{2})');
    expect(normalizeAnswer('\\$1,234.50')).toBe('1234.5');
    expect(normalizeAnswer('\\leftarrow')).toBe('\\leftarrow'); // \left only as a command of its own
    expect(answerValue('\\frac{3}{4}')).toBe(0.75);
    expect(answerValue('-3/4')).toBe(-0.75);
    expect(answerValue('\\frac{\\pi}{2}')).toBeNull();
    expect(extractAnswer('so 3 then #### 42')).toBe(' 42');
    expect(extractAnswer('\\boxed{1} or \\boxed{\\frac{1}{2}}')).toBe('\\frac{1}{2}');
    expect(lastBoxed('\\boxed{{a}}')).toBe('{a}');
  });
});

describe('loaders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmt-tasks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('GSM8K: the number after ####; errors name the file, line and field', async () => {
    const file = join(dir, 'gsm8k.jsonl');
    writeFileSync(
      file,
      '{"question": "2+2?", "answer": "2+2=<<2+2=4>>4\\n#### 4"}\n\n{"question": "big?", "answer": "so\\n#### 1,000"}\n',
    );
    const problems = await readGsm8k(file);
    expect(problems.map((p) => [p.question, p.answer, p.id])).toEqual([
      ['2+2?', '4', `${file}:1`],
      ['big?', '1000', `${file}:3`],
    ]);
    writeFileSync(file, '{"question": "q", "answer": "no final line"}\n');
    await expect(readGsm8k(file)).rejects.toThrow(`${file}:1: field 'answer': answer has no '#### N' final line`);
    writeFileSync(file, '{"question": 3, "answer": "#### 3"}\n');
    await expect(readGsm8k(file)).rejects.toThrow(`${file}:1: field 'question' is not a string (number)`);
    writeFileSync(file, '{oops\n');
    await expect(readGsm8k(file)).rejects.toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1: invalid JSON`),
    );
    await expect(readGsm8k(join(dir, 'absent.jsonl'))).rejects.toThrow(/absent\.jsonl: cannot read \(no such file\)/);
    expect(gsm8kFinalAnswer('#### -3')).toBe('-3');
  });
  it('MATH: the answer field, else the last \\boxed{} of the solution', async () => {
    const file = join(dir, 'math.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ problem: 'p', solution: 'so $\\boxed{\\frac{1}{2}}$', answer: '\\frac{1}{2}', unique_id: 'test/x/1.json' })}\n${JSON.stringify({ problem: 'q', solution: 'is \\boxed{7}' })}\n`,
    );
    const problems = await readMath(file);
    expect(problems.map((p) => [p.question, p.answer, p.id])).toEqual([
      ['p', '\\frac{1}{2}', 'test/x/1.json'],
      ['q', '7', `${file}:2`],
    ]);
    writeFileSync(file, `${JSON.stringify({ problem: 'q', solution: 'nothing boxed' })}\n`);
    await expect(readMath(file)).rejects.toThrow(`${file}:1: no field 'answer' and no \\boxed{} in the solution`);
  });
});

const gsm8k = sharedData('gsm8k/test.jsonl');
const math500 = sharedData('math500/test.jsonl');
describeOrSkip(
  'real test sets',
  sharedDataSkip ?? (existsSync(gsm8k) && existsSync(math500) ? undefined : `${gsm8k} or ${math500} not found`),
  () => {
    it('GSM8K: every answer is a number, equivalent to itself written with commas, $ and .00', async () => {
      const problems = await readGsm8k(gsm8k);
      expect(problems).toHaveLength(1319);
      const withCommas = (n: string) => n.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
      const bad = problems.filter((p) => {
        const value = answerValue(normalizeAnswer(p.answer));
        return (
          value === null ||
          value !== Number(p.answer) ||
          !answersEquivalent(p.answer, `The answer is \\boxed{\\$${withCommas(p.answer)}.00}`)
        );
      });
      expect(bad.map((p) => `${p.id}: ${p.answer}`)).toEqual([]);
    });
    it('MATH-500: every reference answer is equivalent to itself and to the last \\boxed{} of its solution (≥ 99%)', async () => {
      const problems = await readMath(math500);
      expect(problems).toHaveLength(500);
      const failures = problems.filter((p) => {
        const boxed = lastBoxed(p.solution!);
        return (
          !answersEquivalent(p.answer, p.answer) ||
          boxed === null ||
          !answersEquivalent(p.answer, boxed) ||
          !answersEquivalent(normalizeAnswer(p.answer), p.answer)
        );
      });
      // Measured: 0 of 500 (the answer field is the solution's last \boxed{} verbatim in every row).
      expect(
        failures.length / problems.length,
        failures.map((p) => `${p.id}: ${p.answer}`).join('\n'),
      ).toBeLessThanOrEqual(0.01);
    });
  },
);
