// The llm-text prompt format (METHOD.md §1) on tiny Hugging Face tokenizers built here: the chat-templated
// prompt against strings written by hand, and parse() of hand-written completions.
import { describe, expect, it } from 'vitest';
import { ByteTokenizer, HuggingFaceTokenizer } from '@rmt/tokenizers';
import { ControlTokenFormat, lastBoxed, LlmTextFormat } from './index.js';
import { addedToken, byteLevelBpeJson } from '@rmt/testing';

/** Byte-level BPE: ids 0–255 bytes (GPT-2 table), one merge (256 = Ġt), then 257 <|im_start|>, 258 <|im_end|>, 259 <think>, 260 </think>. */
function byteLevel(config: Record<string, unknown>) {
  const json = byteLevelBpeJson(
    { Ġt: 256 },
    ['Ġ t'],
    [
      addedToken(257, '<|im_start|>', true),
      addedToken(258, '<|im_end|>', true),
      addedToken(259, '<think>', false),
      addedToken(260, '</think>', false),
    ],
  );
  return new HuggingFaceTokenizer(json, config);
}

/** SentencePiece style (Metaspace, byte fallback): 0 <unk>, 1 <s>, 2 </s>, 3–258 bytes, 259 ▁, 260 [INST], 261 [/INST]. */
function sentencePiece(config: Record<string, unknown>) {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  vocab['▁'] = 259;
  const json = {
    version: '1.0',
    added_tokens: [
      addedToken(0, '<unk>', true),
      addedToken(1, '<s>', true),
      addedToken(2, '</s>', true),
      addedToken(260, '[INST]', false),
      addedToken(261, '[/INST]', false),
    ],
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: [],
    },
  };
  return new HuggingFaceTokenizer(json, config);
}

const CHATML =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{% endif %}{% endif %}";
const INSTRUCTION_32 =
  'Predict the next token of the text below. Think step by step inside <think></think> using about 32 reasoning tokens, then, after </think>, put the predicted next token of the text inside \\boxed{} (it may start with a space).\n\nText:\n';
const utf8 = (s: string) => new Uint8Array(Buffer.from(s));

describe('LlmTextFormat through a chat template', () => {
  const tok = byteLevel({ eos_token: '<|im_end|>', bos_token: null, chat_template: CHATML });
  const format = new LlmTextFormat(tok);

  it('builds the templated prompt: instruction with the budget, then the context, in one user turn', () => {
    expect(format.chat).toBe(true);
    expect(format.promptOpensThink).toBe(false);
    const ids = format.build(tok.encode('Once upon a'), 32);
    const expected = `<|im_start|>user\n${INSTRUCTION_32}Once upon a<|im_end|>\n<|im_start|>assistant\n`;
    expect(tok.render(ids)).toBe(expected);
    expect(ids).toEqual(tok.encode(expected));
    expect(ids.slice(0, 2)).toEqual([257, ...Buffer.from('u')]);
    expect(ids.slice(-11)).toEqual([257, ...Buffer.from('assistant\n')]);
    expect(ids.filter((id) => id === 257)).toHaveLength(2);
    // No budget: the clause is left out.
    expect(tok.render(format.build(tok.encode('x')))).toContain('inside <think></think>, then, after </think>');
    expect(format.stopTokens).toEqual([258]);
  });

  it('the context is the current document only, a character cut at the window start dropped', () => {
    const ids = [...tok.encode('old doc'), 258, ...tok.encode('new 日')];
    expect(format.contextText(ids)).toBe('new 日');
    expect(format.contextText(tok.encode('日本').slice(1))).toBe('本'); // starts with 97 a5 of 日
  });

  it('enable_thinking false (Qwen3) puts an empty think block in the prompt', () => {
    const off = new LlmTextFormat(tok, { enableThinking: false });
    expect(tok.render(off.build(tok.encode('a'))).endsWith('<|im_start|>assistant\n<think>\n\n</think>\n\n')).toBe(
      true,
    );
  });

  it('parses hand-written completions', () => {
    const parse = (text: string) => format.parse(tok.encode(text));
    // <think> and </think> are single tokens here; "a b" is a, Ġ, b → 3 tokens; \n is one byte token.
    expect(parse('<think>a b</think>\n\n\\boxed{ the}<|im_end|>')).toEqual({
      reasoningTokens: 3,
      prediction: utf8(' the'),
    });
    // No think at all: no answer; the reasoning is the whole completion (stop token excluded).
    expect(parse('\\boxed{x}<|im_end|>')).toEqual({ reasoningTokens: 9, prediction: null });
    // Unclosed think: no answer; reasoning = what follows <think>.
    expect(parse('<think>abc')).toEqual({ reasoningTokens: 3, prediction: null });
    // Several boxed: the last after </think> counts; one inside the reasoning never does.
    expect(parse('<think>\\boxed{no}</think>\\boxed{ one} then \\boxed{two}')).toEqual({
      reasoningTokens: 10,
      prediction: utf8('two'),
    });
    expect(parse('<think>\\boxed{no}</think> nothing boxed').prediction).toBeNull();
    // Nested braces.
    expect(parse('<think>x</think>\\boxed{\\frac{1}{2}}').prediction).toEqual(utf8('\\frac{1}{2}'));
    expect(parse('<think>x</think>\\boxed{unclosed').prediction).toBeNull();
    // Multi-byte prediction, byte-exact.
    expect(parse('<think>x</think>\\boxed{日}').prediction).toEqual(utf8('日'));
    // No <think> but a </think> (the model skipped the opening tag): reasoning counts from the start.
    expect(parse('ab</think>\\boxed{c}')).toEqual({ reasoningTokens: 2, prediction: utf8('c') });
  });

  it('render is parse’s inverse', () => {
    const done = format.render(tok.encode('so'), tok.encode(' time'));
    expect(tok.render(done)).toBe('<think>so</think>\n\n\\boxed{ time}<|im_end|>');
    expect(format.parse(done)).toEqual({ reasoningTokens: 2, prediction: utf8(' time') });
  });

  it('a template whose generation prompt opens <think> (R1 distills): the completion starts in the reasoning', () => {
    const r1 = byteLevel({
      eos_token: '<|im_end|>',
      chat_template:
        "{{ '<|im_start|>' + messages[0]['content'] }}{% if add_generation_prompt %}{{ '<|im_end|><think>\\n' }}{% endif %}",
    });
    const f = new LlmTextFormat(r1);
    expect(f.promptOpensThink).toBe(true);
    expect(f.parse(r1.encode('ab</think>\\boxed{c}'))).toEqual({ reasoningTokens: 2, prediction: utf8('c') });
    expect(r1.render(f.render(r1.encode('so'), r1.encode('c')))).toBe('so</think>\n\n\\boxed{c}<|im_end|>');
  });
});

describe('LlmTextFormat, SentencePiece tokenizer with a Llama-2-style template', () => {
  const tok = sentencePiece({
    bos_token: '<s>',
    eos_token: '</s>',
    chat_template: "{{ bos_token }}{% for m in messages %}{{ '[INST] ' + m['content'] + ' [/INST]' }}{% endfor %}",
  });
  it('the decoded prompt is the templated string', () => {
    const format = new LlmTextFormat(tok);
    // A document's start (after <s>): the dummy-prefix space is not text; mid-document, a leading space is.
    const ids = format.build(tok.encode('Once upon a', { bos: true }), 32);
    expect(ids[0]).toBe(1);
    expect(tok.render(ids)).toBe(`<s>[INST] ${INSTRUCTION_32}Once upon a [/INST]`);
    expect(format.contextText(tok.encode('Once').slice(0))).toBe(' Once');
    expect(format.parse(tok.encode('<think>ab</think>\\boxed{ c}')).prediction).toEqual(utf8(' c'));
  });
});

describe('prompt formats and pretrained tokenizers', () => {
  it('no chat template: the plain prompt of base LMs', () => {
    const tok = byteLevel({ eos_token: '<|im_end|>' });
    const format = new LlmTextFormat(tok);
    expect(format.chat).toBe(false);
    expect(tok.render(format.build(tok.encode('Once'), 32))).toBe(`${INSTRUCTION_32}Once\n\n<think>`);
    expect(() => new LlmTextFormat(new ByteTokenizer(), { chat: true })).toThrow(
      /chat requested, but the byte tokenizer has no chat template/,
    );
  });
  it('the control-token format on a pretrained tokenizer names data.format and suggests llm-text', () => {
    expect(() => new ControlTokenFormat(byteLevel({}), [])).toThrow(
      /^data\.format 'control-tokens': the huggingface tokenizer has no '\[CTX\]' token\..*set data\.format: llm-text$/,
    );
  });
  it('lastBoxed: nested braces, the last one, \\fbox, unclosed', () => {
    expect(lastBoxed('\\boxed{a} and \\boxed{\\frac{1}{\\sqrt{2}}}.')).toBe('\\frac{1}{\\sqrt{2}}');
    expect(lastBoxed('\\fbox{7}')).toBe('7');
    expect(lastBoxed('\\boxed{a')).toBeNull();
    expect(lastBoxed('none')).toBeNull();
  });
});
