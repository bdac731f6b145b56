// Verifiable tasks for post-training (METHOD.md §6): GSM8K and MATH(-500) problems read from JSONL, and the
// answer check: normalisation and equivalence of final answers, in the spirit of the MATH benchmark's
// `is_equiv` (Hendrycks et al., strip_string) with numbers compared by value (ours).
import { readInput } from '@rmt/core';
import { lastBoxed } from './prompt.js';

/** A problem whose final answer can be checked. */
export interface VerifiableProblem {
  question: string;
  /** The reference final answer (GSM8K: the number after `####`; MATH: the `answer` field). */
  answer: string;
  /** The worked solution, where the data set has one. */
  solution?: string;
  /** Where the problem came from (`file:line`, or the data set's own id). */
  id?: string;
}

/** Rows of a JSONL file, each with its line number; errors name the file and line. */
async function jsonlRows(file: string): Promise<{ row: Record<string, unknown>; line: number }[]> {
  const text = await readInput(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`${file}: cannot read (${error.code === 'ENOENT' ? 'no such file' : error.message})`, {
      cause: error,
    });
  });
  const rows: { row: Record<string, unknown>; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(raw);
    } catch (error) {
      throw new Error(`${file}:${i + 1}: invalid JSON (${(error as Error).message})`, { cause: error });
    }
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new Error(`${file}:${i + 1}: expected a JSON object`);
    rows.push({ row: row as Record<string, unknown>, line: i + 1 });
  });
  if (rows.length === 0) throw new Error(`${file}: no problems`);
  return rows;
}

function stringField(row: Record<string, unknown>, field: string, where: string): string {
  const value = row[field];
  if (typeof value !== 'string')
    throw new Error(
      `${where}: field '${field}' is ${value === undefined ? 'missing' : `not a string (${typeof value})`}`,
    );
  return value;
}

/** GSM8K's final answer: the text after the last `####`, thousands separators removed (`#### 70,000` → `70000`). */
export function gsm8kFinalAnswer(answer: string, where = 'gsm8k'): string {
  const at = answer.lastIndexOf('####');
  if (at < 0) throw new Error(`${where}: answer has no '#### N' final line`);
  const final = answer
    .slice(at + 4)
    .trim()
    .replace(/(\d),(?=\d{3}\b)/g, '$1');
  if (final === '') throw new Error(`${where}: nothing after '####'`);
  return final;
}

/** GSM8K JSONL (`{question, answer}`, the answer ending in `#### N`). */
export async function readGsm8k(file: string): Promise<VerifiableProblem[]> {
  return (await jsonlRows(file)).map(({ row, line }) => {
    const where = `${file}:${line}`;
    const solution = stringField(row, 'answer', where);
    return {
      question: stringField(row, 'question', where),
      answer: gsm8kFinalAnswer(solution, `${where}: field 'answer'`),
      solution,
      id: where,
    };
  });
}

/** MATH / MATH-500 JSONL (`{problem, solution, answer, …}`); without `answer`, the last `\boxed{}` of the solution. */
export async function readMath(file: string): Promise<VerifiableProblem[]> {
  return (await jsonlRows(file)).map(({ row, line }) => {
    const where = `${file}:${line}`;
    const solution = stringField(row, 'solution', where);
    const answer = row.answer === undefined ? lastBoxed(solution) : stringField(row, 'answer', where);
    if (answer === null) throw new Error(`${where}: no field 'answer' and no \\boxed{} in the solution`);
    return {
      question: stringField(row, 'problem', where),
      answer,
      solution,
      id: typeof row.unique_id === 'string' ? row.unique_id : where,
    };
  });
}

/** A model's final answer: the last `\boxed{}` when there is one, else the text after the last `####`, else the whole text. */
export function extractAnswer(output: string): string {
  const boxed = lastBoxed(output);
  if (boxed !== null) return boxed;
  const at = output.lastIndexOf('####');
  return at >= 0 ? output.slice(at + 4) : output;
}

/** Replace `\cmd{…}` (balanced braces) by what `f` makes of its content. */
function mapCommand(s: string, command: string, f: (inner: string) => string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const i = s.indexOf(`\\${command}{`, at);
    if (i < 0) return out + s.slice(at);
    let depth = 0;
    let j = i + command.length + 1;
    for (; j < s.length; j++) {
      if (s[j] === '{') depth++;
      else if (s[j] === '}' && --depth === 0) break;
    }
    if (j >= s.length) return out + s.slice(at); // unbalanced: leave as is
    out += s.slice(at, i) + f(s.slice(i + command.length + 2, j));
    at = j + 1;
  }
}

/** Unit words a bare number may carry (`5 dollars`, `12 cm^2`); ours, the common ones in GSM8K and MATH. */
const UNIT =
  /^(?:dollars?|cents?|percent|degrees?|units?|sq|square|cubic|cm|mm|km|m|meters?|metres?|inch(?:es)?|in|feet|foot|ft|yards?|yd|miles?|mi|mph|kg|g|grams?|pounds?|lbs?|oz|ounces?|liters?|litres?|ml|gallons?|hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|points?|people|students?|times|ways|eggs|books|marbles|apples|cookies)$/i;

/**
 * A final answer in a canonical form (for equivalence, not for display): `\boxed{}` unwrapped; `$`,
 * `\left`/`\right`, spacing commands, `^\circ`, `%`, `\text{ unit}` after a number and unit words after a
 * number removed; `\dfrac`/`\tfrac` → `\frac`, `\frac12` → `\frac{1}{2}`, `a/b` of two integers →
 * `\frac{a}{b}`; thousands separators, a trailing `.0`, a leading `+` and all spaces dropped; a short
 * `x =` before the value dropped (as MATH's strip_string).
 */
export function normalizeAnswer(answer: string): string {
  let s = answer.trim();
  const boxed = lastBoxed(s);
  if (boxed !== null) s = boxed;
  s = s.replace(/\\\$/g, '$').replace(/\$/g, '');
  s = s.replace(/\\(?:!|,|;|:|quad|qquad)|\\ /g, ' ').replace(/~/g, ' ');
  s = s.replace(/\\(?:left|right)(?![a-zA-Z])\s*/g, '').replace(/\\big[lr]?|\\Big[lr]?/g, '');
  s = s.replace(/\\[dt]frac/g, '\\frac').replace(/\\displaystyle/g, '');
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|°/g, '').replace(/\\%|%/g, '');
  s = s.replace(/\\text(?:bf|rm|normal)?\s*\{\s*\}/g, '');
  // A unit in \text{} or \mbox{} after a number (`10\text{ cm}^2`): dropped; other \text{X} → X (`\text{(C)}`).
  const number = String.raw`[+-]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)`;
  const unitText = new RegExp(
    String.raw`^(${number}(?:\s*\\frac\{[^{}]*\}\{[^{}]*\})?)\s*\\(?:text|mbox|mathrm)\s*\{\s*[a-zA-Z][a-zA-Z .]*\}(?:\s*\^\s*\{?\d\}?)?\s*$`,
  );
  s = s.replace(unitText, '$1');
  for (const command of ['text', 'textbf', 'textrm', 'mbox', 'mathrm', 'mathbf', 'textnormal'])
    s = mapCommand(s, command, (inner) => inner);
  // Unit words after a bare number, separated by a space (`5 dollars`, `3 sq units`); `2x` stays.
  const words = s.trim().match(new RegExp(String.raw`^(${number})\s+((?:[a-zA-Z]+\.?\s*)+)(?:\^\s*\{?\d\}?)?$`));
  if (
    words &&
    words[2]!
      .trim()
      .split(/\s+/)
      .every((w) => UNIT.test(w.replace(/\.$/, '')))
  )
    s = words[1]!;
  // `x = 5`, `k=3`: a short left-hand side is not part of the answer.
  const eq = s.split('=');
  if (eq.length === 2 && eq[0]!.trim().length <= 2 && /^[a-zA-Z]?\s*$/.test(eq[0]!.trim()) && eq[1]!.trim() !== '')
    s = eq[1]!;
  s = s.replace(/\s+/g, '');
  s = s
    .replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac\{([^{}]*)\}(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac(\d)\{/g, '\\frac{$1}{');
  s = s.replace(/\\sqrt(\d)/g, '\\sqrt{$1}');
  s = s.replace(/^(-?\d+)\/(\d+)$/, '\\frac{$1}{$2}');
  // Thousands separators (1,000 or 1{,}000) only when every group after the first has three digits.
  s = s.replace(/\{,\}/g, ',');
  if (/^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  s = s.replace(/^\+/, '');
  s = s.replace(/^(-?)\./, '$10.');
  if (/^-?\d+\.\d*$/.test(s)) s = s.replace(/\.?0+$/, '') || '0';
  s = s.replace(/^-0$/, '0');
  return s;
}

/** The value of a normalised answer that is a plain number or a fraction of two numbers, else null. */
export function answerValue(normalized: string): number | null {
  const num = String.raw`-?(?:\d+(?:\.\d*)?|\.\d+)`;
  if (new RegExp(`^${num}$`).test(normalized)) return Number(normalized);
  const frac =
    new RegExp(String.raw`^(-?)\\frac\{(${num})\}\{(${num})\}$`).exec(normalized) ??
    new RegExp(`^(-?)(${num})/(${num})$`).exec(normalized);
  if (frac) {
    const value = Number(frac[2]) / Number(frac[3]);
    return Number.isFinite(value) ? (frac[1] === '-' ? -value : value) : null;
  }
  return null;
}

/** Top-level comma-separated parts of `(a,b)`, `[a,b)`, `\{a,b\}` or a bare list, with the brackets. */
function splitTuple(s: string): { open: string; close: string; parts: string[] } | null {
  const m = /^(\(|\[|\\\{)(.*)(\)|\]|\\\})$/.exec(s);
  const open = m?.[1] ?? '';
  const close = m?.[3] ?? '';
  const body = m ? m[2]! : s;
  const parts: string[] = [];
  let depth = 0;
  let last = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (c === ',' && depth === 0) {
      parts.push(body.slice(last, i));
      last = i + 1;
    }
  }
  parts.push(body.slice(last));
  return parts.length > 1 ? { open, close, parts } : null;
}

function equalNormalized(a: string, b: string): boolean {
  if (a === b) return true;
  const va = answerValue(a);
  const vb = answerValue(b);
  if (va !== null && vb !== null) return Math.abs(va - vb) <= 1e-9 * Math.max(1, Math.abs(va), Math.abs(vb));
  const ta = splitTuple(a);
  const tb = splitTuple(b);
  if (ta && tb && ta.open === tb.open && ta.close === tb.close && ta.parts.length === tb.parts.length)
    return ta.parts.every((p, i) => equalNormalized(p, tb.parts[i]!));
  return false;
}

/**
 * Whether two final answers are the same (the verifiable reward of METHOD.md §6): equal after
 * {@link normalizeAnswer}, or both numbers (fractions included) equal in value, or tuples/intervals equal
 * element by element. Either side may be a model's output with a `\boxed{}`.
 */
export function answersEquivalent(a: string, b: string): boolean {
  return equalNormalized(normalizeAnswer(a), normalizeAnswer(b));
}
