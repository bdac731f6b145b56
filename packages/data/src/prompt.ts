// Prompt formats (METHOD.md §1): how a site's context and the budget become a prompt, and how a completion
// becomes (reasoning length, prediction). One interface, two formats: compact control tokens for small
// models trained from scratch, and a text format for instruction-following LLMs.
import { tokensToBytes, type Tokenizer } from '@rmt/model';

export interface ParsedCompletion {
  /** Tokens of reasoning (between the think markers); the whole completion when unterminated. */
  reasoningTokens: number;
  /** Bytes of the predicted continuation, or null when no answer can be parsed. */
  prediction: Uint8Array | null;
}

export interface PromptFormat {
  readonly name: string;
  /** Prompt ids for a context; `budget` (reasoning tokens) is told to the policy when given. */
  build(context: readonly number[], budget?: number): number[];
  /** Parse generated ids (the completion only). */
  parse(completion: readonly number[]): ParsedCompletion;
  /** The completion a policy should write for a reasoning and an answer (worked examples; parse's inverse). */
  render(reasoning: readonly number[], answer: readonly number[]): number[];
  /** Tokens that end generation. */
  readonly stopTokens: readonly number[];
  /** Tokens needed after the reasoning (markers + answer + stop), for the generation cap 2·B_t + room. */
  readonly answerRoom: number;
}

/** Names of the control tokens the compact format needs in the tokenizer's vocabulary. */
export const CONTROL_TOKENS = ['[CTX]', '[THINK]', '[/THINK]', '[ANS]'] as const;

/** `[B=n]` budget tokens: the budget is rounded to the nearest of these values. */
export function budgetTokenName(value: number): string {
  return `[B=${value}]`;
}

/**
 * `[CTX] context [B=n] [THINK] reasoning [/THINK] [ANS] prediction </s>` (METHOD.md §1, small models).
 * The budget token is the nearest available `[B=n]`; without a budget no token is written.
 */
export class ControlTokenFormat implements PromptFormat {
  readonly name = 'control-tokens';
  readonly stopTokens: readonly number[];
  readonly answerRoom: number;
  private readonly ids: Record<(typeof CONTROL_TOKENS)[number], number>;
  private readonly eos: number;
  private readonly budgets: { value: number; id: number }[];

  /**
   * @param contextTokens keep only the last N context tokens in the prompt (ours; null = all). The
   *   synthetic task uses 7: exactly the question line, so its digits sit at fixed prompt positions.
   */
  constructor(
    private readonly tokenizer: Tokenizer,
    budgetValues: readonly number[] = [],
    answerTokens = 4,
    private readonly contextTokens: number | null = null,
  ) {
    const need = (name: string) => {
      const id = tokenizer.specialId(name);
      if (id === undefined) throw new Error(`control-token prompt format: the tokenizer has no '${name}' token`);
      return id;
    };
    this.ids = Object.fromEntries(CONTROL_TOKENS.map((n) => [n, need(n)])) as ControlTokenFormat['ids'];
    this.eos = tokenizer.eosId ?? need('</s>');
    this.budgets = budgetValues.map((value) => ({ value, id: need(budgetTokenName(value)) }));
    this.stopTokens = [this.eos];
    this.answerRoom = 2 + answerTokens + 1;
  }

  /** The budget token used for a budget: nearest value on a log scale (budgets are multiplicative). */
  budgetToken(budget: number): { value: number; id: number } | undefined {
    let best: { value: number; id: number } | undefined;
    for (const b of this.budgets) {
      if (!best || Math.abs(Math.log(b.value / Math.max(budget, 1))) < Math.abs(Math.log(best.value / Math.max(budget, 1)))) best = b;
    }
    return best;
  }

  build(context: readonly number[], budget?: number): number[] {
    const tag = budget === undefined ? undefined : this.budgetToken(budget);
    const kept = this.contextTokens === null ? context : context.slice(Math.max(0, context.length - this.contextTokens));
    return [this.ids['[CTX]'], ...kept, ...(tag ? [tag.id] : []), this.ids['[THINK]']];
  }

  render(reasoning: readonly number[], answer: readonly number[]): number[] {
    return [...reasoning, this.ids['[/THINK]'], this.ids['[ANS]'], ...answer, this.eos];
  }

  parse(completion: readonly number[]): ParsedCompletion {
    const end = completion.indexOf(this.ids['[/THINK]']);
    if (end < 0) return { reasoningTokens: completion.filter((t) => t !== this.eos).length, prediction: null };
    if (completion[end + 1] !== this.ids['[ANS]']) return { reasoningTokens: end, prediction: null };
    const rest = completion.slice(end + 2);
    const stop = rest.indexOf(this.eos);
    const answer = stop < 0 ? rest : rest.slice(0, stop);
    // Control tokens inside the answer make it unparsable (they have no bytes and would match vacuously).
    if (answer.some((t) => this.tokenizer.tokenBytes(t).length === 0)) return { reasoningTokens: end, prediction: null };
    return { reasoningTokens: end, prediction: tokensToBytes(this.tokenizer, answer) };
  }
}

/**
 * Text format for instruction-following LLMs (METHOD.md §1): an instruction to reason inside <think>…</think>
 * and put the predicted next token in \boxed{}; the answer is the content of the last \boxed{} after
 * </think>.
 */
export class LlmTextFormat implements PromptFormat {
  readonly name = 'llm-text';
  readonly stopTokens: readonly number[];
  readonly answerRoom = 24;

  constructor(private readonly tokenizer: Tokenizer) {
    this.stopTokens = tokenizer.eosId === undefined ? [] : [tokenizer.eosId];
  }

  instruction(budget?: number): string {
    return (
      'Continue the text below by one token. Think step by step inside <think></think>' +
      (budget === undefined ? '' : ` using about ${budget} reasoning tokens`) +
      ', then give the next token inside \\boxed{} (it may start with a space).\n\nText:\n'
    );
  }

  build(context: readonly number[], budget?: number): number[] {
    const prefix = this.tokenizer.encode(this.instruction(budget), { bos: true });
    return [...prefix, ...context, ...this.tokenizer.encode('\n\n<think>', { bos: false })];
  }

  render(reasoning: readonly number[], answer: readonly number[]): number[] {
    const enc = (text: string) => this.tokenizer.encode(text, { bos: false });
    return [...reasoning, ...enc('</think>\n\\boxed{'), ...answer, ...enc('}'), ...(this.tokenizer.eosId === undefined ? [] : [this.tokenizer.eosId])];
  }

  parse(completion: readonly number[]): ParsedCompletion {
    // Byte-exact text (latin1 maps bytes 1:1) and where each token ends, to count reasoning in tokens.
    const ends: number[] = [];
    let text = '';
    for (const id of completion) ends.push((text += Buffer.from(this.tokenizer.tokenBytes(id)).toString('latin1')).length);
    const closeAt = text.indexOf('</think>');
    // Reasoning = the tokens that end before the closing tag starts.
    const reasoningTokens = closeAt < 0 ? completion.length : ends.filter((end) => end <= closeAt).length;
    if (closeAt < 0) return { reasoningTokens, prediction: null };
    const after = Buffer.from(text.slice(closeAt + '</think>'.length), 'latin1');
    const marker = Buffer.from('\\boxed{');
    const start = after.lastIndexOf(marker);
    if (start < 0) return { reasoningTokens, prediction: null };
    const close = after.indexOf('}', start + marker.length);
    if (close < 0) return { reasoningTokens, prediction: null };
    return { reasoningTokens, prediction: new Uint8Array(after.subarray(start + marker.length, close)) };
  }
}
