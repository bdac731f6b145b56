// Prompt formats (METHOD.md §1): how a site's context and the budget become a prompt, and how a completion
// becomes (reasoning length, prediction). One interface, two formats: compact control tokens for small
// models trained from scratch, and a text format for instruction-following LLMs.
import { tokensToBytes, type Tokenizer } from '@rmt/tokenizers';

/** Invalid sequences become U+FFFD, never throw. */
const utf8Decoder = new TextDecoder('utf-8');

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
      if (id === undefined) {
        // A pretrained tokenizer (Hugging Face, llama2.c) never has these: say which setting to change.
        throw new Error(
          `data.format 'control-tokens': the ${tokenizer.kind} tokenizer has no '${name}' token. The control-token format is for models trained ` +
            `from scratch with ${CONTROL_TOKENS.join(' ')} in their vocabulary; for a pretrained model set data.format: llm-text`,
        );
      }
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
      if (
        !best ||
        Math.abs(Math.log(b.value / Math.max(budget, 1))) < Math.abs(Math.log(best.value / Math.max(budget, 1)))
      )
        best = b;
    }
    return best;
  }

  build(context: readonly number[], budget?: number): number[] {
    const tag = budget === undefined ? undefined : this.budgetToken(budget);
    const kept =
      this.contextTokens === null ? context : context.slice(Math.max(0, context.length - this.contextTokens));
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
    if (answer.some((t) => this.tokenizer.tokenBytes(t).length === 0))
      return { reasoningTokens: end, prediction: null };
    return { reasoningTokens: end, prediction: tokensToBytes(this.tokenizer, answer) };
  }
}

/** The content of the last `\boxed{…}` (or `\fbox{…}`) in a text, braces balanced; null when there is none or it is unclosed. */
export function lastBoxed(text: string): string | null {
  const at = Math.max(text.lastIndexOf('\\boxed{'), text.lastIndexOf('\\fbox{'));
  if (at < 0) return null;
  const open = text.indexOf('{', at);
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open + 1, i);
  }
  return null;
}

export interface LlmTextOptions {
  /**
   * Put the instruction and the context in a user message of the tokenizer's chat template (instruction
   * models). `auto` (the default): when the tokenizer has a chat template; otherwise the plain-text prompt
   * `instruction context \n\n<think>` of base LMs.
   */
  chat?: 'auto' | boolean;
  /** Qwen3's `enable_thinking` (default true: the format asks for reasoning). */
  enableThinking?: boolean;
  /** Named chat template (the list form of `chat_template`). */
  template?: string;
  /**
   * What the model is asked: `next-token` (mid-training, METHOD.md §1: the next token of the text) or
   * `problem` (post-training on a verifiable task: the final answer to the problem, METHOD.md §6).
   */
  task?: 'next-token' | 'problem';
}

const THINK = '<think>';
const END_THINK = '</think>';

/**
 * Text format for instruction-following LLMs (METHOD.md §1): an instruction to reason step by step inside
 * <think>…</think> (using about B reasoning tokens, the budget of METHOD.md §2, when there is one) and to put
 * the predicted next token in \boxed{} after </think>; the answer is the content of the last \boxed{} after
 * </think>, the reasoning length the tokens between <think> and </think>. With a chat template the
 * instruction and context form one user message and the prompt ends with the assistant turn's opening
 * (`add_generation_prompt`), so the model writes <think> itself unless the template already opened it.
 */
export class LlmTextFormat implements PromptFormat {
  readonly name = 'llm-text';
  readonly stopTokens: readonly number[];
  /** `</think>\n\n\boxed{` + a token or two + `}` + the end of turn (ours: 24 tokens of room). */
  readonly answerRoom = 24;
  /** Whether prompts go through the tokenizer's chat template. */
  readonly chat: boolean;
  /** Whether the prompt itself ends inside an open <think> (the completion starts with reasoning). */
  readonly promptOpensThink: boolean;
  private readonly enableThinking: boolean;
  private readonly template: string | undefined;
  private readonly task: 'next-token' | 'problem';
  /** The tokenizer writes a space before a text's first piece (SentencePiece's dummy prefix). */
  private readonly dummyPrefix: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    options: LlmTextOptions = {},
  ) {
    const hasTemplate = tokenizer.chatTemplate !== undefined && tokenizer.applyChatTemplate !== undefined;
    if (options.chat === true && !hasTemplate)
      throw new Error(
        `llm-text prompt format: chat requested, but the ${tokenizer.kind} tokenizer has no chat template (tokenizer_config.json chat_template)`,
      );
    this.chat = options.chat === undefined || options.chat === 'auto' ? hasTemplate : options.chat;
    this.enableThinking = options.enableThinking ?? true;
    this.template = options.template;
    this.task = options.task ?? 'next-token';
    this.dummyPrefix = Buffer.from(tokensToBytes(tokenizer, tokenizer.encode('a'))).toString('latin1') === ' a';
    this.stopTokens = tokenizer.endOfTurnIds ?? (tokenizer.eosId === undefined ? [] : [tokenizer.eosId]);
    // Some templates (R1 distills) open <think> in the generation prompt: then the completion does not.
    this.promptOpensThink = this.chat ? this.chatPrompt('x').trimEnd().endsWith(THINK) : true;
  }

  /** The user instruction; the context text follows it. */
  instruction(budget?: number): string {
    const think =
      'Think step by step inside <think></think>' +
      (budget === undefined ? '' : ` using about ${budget} reasoning tokens`);
    if (this.task === 'problem')
      return `Solve the problem below. ${think}, then, after </think>, put the final answer inside \\boxed{}.\n\nProblem:\n`;
    return `Predict the next token of the text below. ${think}, then, after </think>, put the predicted next token of the text inside \\boxed{} (it may start with a space).\n\nText:\n`;
  }

  /** The chat-templated prompt text for a user message. */
  chatPrompt(user: string): string {
    return this.tokenizer.applyChatTemplate!([{ role: 'user', content: user }], {
      addGenerationPrompt: true,
      enableThinking: this.enableThinking,
      template: this.template,
    });
  }

  /**
   * The context as text for the user message: only the current document (what follows the last special
   * token, e.g. a BOS or an <|endoftext|> between documents, ours), its bytes decoded, a character cut at the
   * window's start dropped, and at a document's start the dummy-prefix space of SentencePiece tokenizers.
   */
  contextText(context: readonly number[]): string {
    let from = 0;
    context.forEach((id, i) => {
      if (this.tokenizer.tokenBytes(id).length === 0) from = i + 1;
    });
    const bytes = tokensToBytes(this.tokenizer, context.slice(from));
    let start = 0;
    // At a document's start (after its BOS), SentencePiece's dummy-prefix space is not part of the text.
    if (from > 0 && this.dummyPrefix && bytes[0] === 0x20) start = 1;
    while (start < bytes.length && start < 3 && (bytes[start]! & 0xc0) === 0x80) start++; // a cut character
    return utf8Decoder.decode(bytes.subarray(start));
  }

  build(context: readonly number[], budget?: number): number[] {
    if (this.chat) {
      // As transformers' apply_chat_template(tokenize=True): render the text, then tokenize it whole (the
      // template writes its own bos and special tokens; the tokenizer reads them back as ids).
      return this.tokenizer.encode(this.chatPrompt(this.instruction(budget) + this.contextText(context)), {
        bos: false,
      });
    }
    const prefix = this.tokenizer.encode(this.instruction(budget), { bos: true });
    return [...prefix, ...context, ...this.tokenizer.encode(`\n\n${THINK}`, { bos: false })];
  }

  render(reasoning: readonly number[], answer: readonly number[]): number[] {
    const enc = (text: string) => this.tokenizer.encode(text, { bos: false });
    return [
      ...(this.promptOpensThink ? [] : enc(THINK)),
      ...reasoning,
      ...enc(`${END_THINK}\n\n\\boxed{`),
      ...answer,
      ...enc('}'),
      ...this.stopTokens.slice(0, 1),
    ];
  }

  /**
   * Reasoning = the tokens lying wholly between the end of the first <think> (the completion's start when
   * the prompt opened it or the model wrote none) and the start of the first </think>; all of the completion
   * when </think> never comes. Prediction = the bytes of the last \boxed{} after </think>; a \boxed{} inside
   * the reasoning does not count. Works on bytes (latin1 maps them 1:1), so a prediction may be any bytes.
   */
  parse(completion: readonly number[]): ParsedCompletion {
    const tokens = completion.filter((id) => !this.stopTokens.includes(id));
    const starts: number[] = [];
    const ends: number[] = [];
    let text = '';
    for (const id of tokens) {
      starts.push(text.length);
      ends.push((text += Buffer.from(this.tokenizer.tokenBytes(id)).toString('latin1')).length);
    }
    const closeAt = text.indexOf(END_THINK);
    const openAt = text.indexOf(THINK);
    const from = openAt >= 0 && (closeAt < 0 || openAt < closeAt) ? openAt + THINK.length : 0;
    const to = closeAt < 0 ? text.length : closeAt;
    const reasoningTokens = tokens.filter(
      (_, i) => starts[i]! >= from && ends[i]! <= to && ends[i]! > starts[i]!,
    ).length;
    if (closeAt < 0) return { reasoningTokens, prediction: null };
    const boxed = lastBoxed(text.slice(closeAt + END_THINK.length));
    return { reasoningTokens, prediction: boxed === null ? null : new Uint8Array(Buffer.from(boxed, 'latin1')) };
  }
}
