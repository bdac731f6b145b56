// The embedded synthetic task (ours): "digit checksums". Each line is 1–6 digits in 6 fixed slots and,
// after ':', the last digit of their sum: `3492..:8` (3+4+9+2 = 18).
//
// Why this task exercises every part of RMT (README, "The synthetic task"):
// - Reasoning helps: the answer digit is a sum mod 10 of n digits. A tiny model cannot compute it in one
//   forward pass once n ≥ 3–4, but can by writing the running sums (`3768`: 3, 3+4=7, 7+9=16→6, 6+2=8).
// - Entropy tracks difficulty (the curriculum has something to order): the longer the line, the less the
//   plain model knows the answer (n = 1 is a copy, n = 2 a 100-entry table, n ≥ 4 close to uniform), and
//   the longer the concise reasoning it needs (n running sums). High-entropy sites are the hard ones.
// - Overthinking to remove (the budget has something to do): the pretraining traces are mostly verbose —
//   explicit steps `3;3+4=7;7+9=6;6+2=8` (≈6n tokens) or the same checked twice after `|` (≈12n) — so the
//   base reasons ~5× longer than needed; half the traces carry a `[B=n]` budget token that roughly
//   matches their length, so the base responds to the budget like an instruction-following model.
// - The dual objective has something to keep: operand digits are random (no method beats 10% there) but
//   the line structure (':' after the digits, newline after the answer) is next-token knowledge that
//   plain RL on answer sites would let drift.
// - Post-training: the same checksum asked without context, a task with a verifiable final answer.
import { createRng, type Rng } from '@rmt/core';
import { ByteTokenizer } from '@rmt/tokenizers';
import { budgetTokenName, CONTROL_TOKENS, type PromptFormat } from './prompt.js';
import { buildWindows } from './sites.js';

/** Budget token values of the synthetic vocabulary ([B=1] … [B=96]). */
export const SYNTHETIC_BUDGETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96] as const;

/** The byte tokenizer of the embedded task: bytes + <pad> <s> </s> + control tokens + budget tokens. */
export function syntheticTokenizer(): ByteTokenizer {
  return new ByteTokenizer(['<pad>', '<s>', '</s>', ...CONTROL_TOKENS, ...SYNTHETIC_BUDGETS.map(budgetTokenName)]);
}

export interface SyntheticOptions {
  /** Digits per line, drawn uniformly in [minDigits, maxDigits] (the difficulty range; README, "The synthetic task"). */
  minDigits: number;
  maxDigits: number;
  /** Share of pretraining traces written concisely (running sums only). */
  conciseShare: number;
  /** Share written as explicit steps; the rest are explicit steps checked twice. */
  explicitShare: number;
  /** Share of pretraining traces with a budget token. */
  budgetTagShare: number;
  /**
   * What the long pretraining traces are (data.synthetic.overthink). `wrong` (today's base): explicit steps
   * `3;3+4=7;…`, ≈5n–10n tokens, which the tiny base gets wrong on long lines, so reward alone shortens
   * them. `redundant`: the concise running sums written again after `|` (2× or 4× in all), copies the base
   * gets as right as the concise trace, so only a length pressure shortens them. Default `wrong`.
   */
  overthink?: Overthink;
  /**
   * Probability that an operand digit after the first repeats the one before it (data.synthetic.repeatProbability):
   * the part of the text plain next-token prediction can learn (or forget) — no site is affected, since a
   * checksum of repeated digits still needs the sums. 0 (default): uniformly random digits, today's corpus.
   */
  repeatProbability?: number;
}

/** Long pretraining traces: wrong on long lines (today's base) or redundant re-checks as accurate as the concise trace. */
export type Overthink = 'wrong' | 'redundant';

/** Slots per line: every line is this wide whatever maxDigits (≤ 6) is, so windows and prompts keep their shape. */
export const SYNTHETIC_SLOTS = 6;

export const DEFAULT_SYNTHETIC: SyntheticOptions = {
  minDigits: 1,
  maxDigits: 6,
  conciseShare: 0.25,
  explicitShare: 0.4,
  budgetTagShare: 0.5,
};

export type TraceStyle = 'concise' | 'explicit' | 'checked';

function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

export function randomDigits(
  rng: Rng,
  options: Pick<SyntheticOptions, 'minDigits' | 'maxDigits' | 'repeatProbability'>,
): number[] {
  const digits = Array.from({ length: randomInt(rng, options.minDigits, options.maxDigits) }, () =>
    randomInt(rng, 0, 9),
  );
  // Repeats draw after the digits, and only when asked, so repeatProbability 0 consumes the RNG exactly as before.
  const p = options.repeatProbability ?? 0;
  if (p > 0) for (let i = 1; i < digits.length; i++) if (rng.next() < p) digits[i] = digits[i - 1]!;
  return digits;
}

/** Width of a line's digit slots for these options: 6, or maxDigits when wider. */
export function slotsOf(options: Pick<SyntheticOptions, 'maxDigits'>): number {
  return Math.max(SYNTHETIC_SLOTS, options.maxDigits);
}

/** Running sums mod 10: r_i = (d_1 + … + d_i) mod 10; the answer is the last. */
export function runningSums(digits: readonly number[]): number[] {
  let acc = 0;
  return digits.map((d) => (acc = (acc + d) % 10));
}

export function checksum(digits: readonly number[]): number {
  return runningSums(digits).at(-1) ?? 0;
}

/**
 * One corpus line, fixed width: the digits left-aligned in `width` slots padded with '.', then ':' and the
 * checksum — `3492..:8`. Fixed slots put digit i at the same place in every line, so a tiny model with
 * learned absolute positions can find it (measured: fixed-width lines were what made traces learnable; README, "The synthetic task").
 */
export function checksumLine(digits: readonly number[], width = DEFAULT_SYNTHETIC.maxDigits): string {
  return `${checksumQuestion(digits, width)}${checksum(digits)}`;
}

/** The line up to the answer: `3492..:`. */
export function checksumQuestion(digits: readonly number[], width = DEFAULT_SYNTHETIC.maxDigits): string {
  if (digits.length > width) throw new Error(`checksum line: ${digits.length} digits do not fit in ${width} slots`);
  return `${digits.join('')}${'.'.repeat(width - digits.length)}:`;
}

/**
 * A reasoning trace in one of the three styles (see the file comment). With `overthink: 'redundant'` the
 * long styles are re-checks of the concise trace instead: `explicit` is it twice (`3768|3768`), `checked`
 * four times — as accurate as the concise trace, only longer.
 */
export function trace(digits: readonly number[], style: TraceStyle, overthink: Overthink = 'wrong'): string {
  const r = runningSums(digits);
  if (style === 'concise') return r.join('');
  if (overthink === 'redundant')
    return Array.from({ length: style === 'explicit' ? 2 : 4 }, () => r.join('')).join('|');
  const explicit = [String(digits[0]), ...digits.slice(1).map((d, i) => `${r[i]}+${d}=${r[i + 1]}`)].join(';');
  return style === 'explicit' ? explicit : `${explicit}|${explicit}`;
}

/** Lines per synthetic document: with BOS, a document is exactly one window of 1 + 5·9 = 46 tokens. */
export const SYNTHETIC_LINES_PER_DOCUMENT = 5;

/**
 * Plain documents for the mid-training corpus (and the plain half of pretraining): 5 checksum lines
 * each. With fixed-width lines and one document per window, every answer sits at a fixed position.
 */
export function syntheticDocuments(
  seed: number,
  count: number,
  options: SyntheticOptions = DEFAULT_SYNTHETIC,
): string[] {
  const rng = createRng(`docs:${seed}`);
  return Array.from(
    { length: count },
    () =>
      Array.from({ length: SYNTHETIC_LINES_PER_DOCUMENT }, () =>
        checksumLine(randomDigits(rng, options), slotsOf(options)),
      ).join('\n') + '\n',
  );
}

/** Tokens of one synthetic document with its BOS: the window length that aligns windows with documents. */
export function syntheticWindowLength(options: SyntheticOptions = DEFAULT_SYNTHETIC): number {
  return 1 + SYNTHETIC_LINES_PER_DOCUMENT * (slotsOf(options) + 3);
}

export interface ReasoningExample {
  /** Text before the answer digit (a window prefix ending with the question `3492..:`). */
  context: string;
  digits: number[];
  trace: string;
  style: TraceStyle;
  answer: string;
  /** Budget told in the prompt, when the example carries one. */
  budget?: number;
}

/**
 * A worked example for pretraining: a context ending at an answer site, a trace of a random style, and
 * (sometimes) a budget token near the trace length × U(0.7, 1.5).
 */
export function reasoningExample(
  rng: Rng,
  maxContextChars: number,
  options: SyntheticOptions = DEFAULT_SYNTHETIC,
): ReasoningExample {
  const before: string[] = [];
  const previous = randomInt(rng, 0, 4);
  for (let i = 0; i < previous; i++) before.push(checksumLine(randomDigits(rng, options), slotsOf(options)));
  const digits = randomDigits(rng, options);
  let context = [...before, checksumQuestion(digits, slotsOf(options))].join('\n');
  // Like a window cut from the corpus: the context may start mid-line.
  if (context.length > maxContextChars) context = context.slice(context.length - maxContextChars);
  const u = rng.next();
  const style: TraceStyle =
    u < options.conciseShare ? 'concise' : u < options.conciseShare + options.explicitShare ? 'explicit' : 'checked';
  const text = trace(digits, style, options.overthink);
  const example: ReasoningExample = { context, digits, trace: text, style, answer: String(checksum(digits)) };
  if (rng.next() < options.budgetTagShare)
    example.budget = Math.max(1, Math.round(text.length * (0.7 + 0.8 * rng.next())));
  return example;
}

export interface PosttrainProblem {
  /** The question `3492..:` (the policy reasons, then answers the checksum digit). */
  question: string;
  answer: string;
  digits: number[];
}

/** The verifiable post-training task (METHOD.md §6): checksums of 3–6 digits asked without context. */
export function posttrainProblems(seed: number, count: number, minDigits = 3, maxDigits = 6): PosttrainProblem[] {
  const rng = createRng(`posttrain:${seed}`);
  return Array.from({ length: count }, () => {
    const digits = randomDigits(rng, { minDigits, maxDigits });
    return {
      question: checksumQuestion(digits, Math.max(maxDigits, DEFAULT_SYNTHETIC.maxDigits)),
      answer: String(checksum(digits)),
      digits,
    };
  });
}

/**
 * The pretraining mix of the embedded base model (ours; README, "The synthetic task"): half plain windows of the
 * corpus, half worked examples `[CTX] context [B=n]? [THINK] trace [/THINK] [ANS] answer </s>`.
 */
export function syntheticPretrainSequences(
  seed: number,
  count: number,
  tokenizer: ByteTokenizer,
  format: PromptFormat,
  windowLength: number,
  options: SyntheticOptions = DEFAULT_SYNTHETIC,
): number[][] {
  const rng = createRng(`pretrain:${seed}`);
  const plainCount = Math.floor(count / 2);
  const plain: number[][] = [];
  for (let batch = 0; plain.length < plainCount; batch++) {
    plain.push(...buildWindows(syntheticDocuments(seed * 1000 + batch, 64, options), tokenizer, windowLength));
  }
  const worked = Array.from({ length: count - plainCount }, () => {
    const e = reasoningExample(rng, windowLength - 2, options);
    return [
      ...format.build(tokenizer.encode(e.context), e.budget),
      ...format.render(tokenizer.encode(e.trace), tokenizer.encode(e.answer)),
    ];
  });
  const all = [...plain.slice(0, plainCount), ...worked];
  // Interleave deterministically so any prefix of the list is a fair mix.
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}
