// Hugging Face tokenizer.json of both kinds, built here (no hub access): a tiny byte-level BPE (GPT-2 /
// Llama 3 / Qwen style) and a tiny SentencePiece-style BPE (▁ spaces, <0xXX> byte fallback; Llama 2 style).
// Expected ids are computed by hand from the merges written below, and bytes are checked against the
// text's own UTF-8, never against the code's output.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { tinyTokenizer, writeTinyHfFolder, type TinyFamily } from '../../../tools/hf-tiny.mjs';
import { HuggingFaceTokenizer, loadModel, loadTokenizer, saveModel, tokenBoundaries, tokensToBytes } from './index.js';
import { addedToken, byteLevelBpeJson, GPT2_BYTE_CHARS } from '@rmt/testing';

const utf8 = (s: string) => Array.from(Buffer.from(s, 'utf8'));
const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

const chars = (bytes: number[]) => bytes.map((b) => GPT2_BYTE_CHARS[b]).join('');

/**
 * Byte-level BPE: ids 0–255 are the bytes, then the merges (rank = order), then added tokens.
 *   256 he · 257 Ġt · 258 Ġthe · 259 a9|e6 (crosses the é|日 character boundary) · 260 f0 9f · 261 99 82 ·
 *   262 🙂 (260+261) · 263 é (c3 a9, ranked after 259)
 */
const BYTE_MERGES: [number[], number[]][] = [
  [utf8('h'), utf8('e')],
  [utf8(' '), utf8('t')],
  [utf8(' t'), utf8('he')],
  [[0xa9], [0xe6]],
  [[0xf0], [0x9f]],
  [[0x99], [0x82]],
  [
    [0xf0, 0x9f],
    [0x99, 0x82],
  ],
  [[0xc3], [0xa9]],
];
function byteLevelJson(
  added: [string, boolean][] = [
    ['<|endoftext|>', true],
    ['<|im_start|>', true],
    ['<|im_end|>', true],
    ['<think>', false],
    ['</think>', false],
  ],
) {
  const pieces = Object.fromEntries(BYTE_MERGES.map(([a, b], i) => [chars([...a, ...b]), 256 + i]));
  const merges = BYTE_MERGES.map(([a, b]) => `${chars(a)} ${chars(b)}`);
  return byteLevelBpeJson(
    pieces,
    merges,
    added.map(([content, special], i) => addedToken(256 + BYTE_MERGES.length + i, content, special)),
  );
}

/**
 * SentencePiece-style BPE: 0 <unk>, 1 <s>, 2 </s>, 3–258 <0x00>…<0xFF>, then pieces
 *   259 ▁ · 260 t · 261 h · 262 e · 263 c · 264 a · 265 f · 266 é · 267 ▁t · 268 he · 269 ▁the · 270 ▁c · 271 ▁ca · 272 fé
 * `legacy`: Llama 2's normalizer (prepend ▁, spaces → ▁); otherwise the Metaspace pre-tokenizer (prepend_scheme first).
 */
function sentencePieceJson(style: 'legacy' | 'metaspace', extra: [string, boolean][] = []) {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[hex(b)] = 3 + b;
  ['▁', 't', 'h', 'e', 'c', 'a', 'f', 'é', '▁t', 'he', '▁the', '▁c', '▁ca', 'fé'].forEach(
    (p, i) => (vocab[p] = 259 + i),
  );
  return {
    version: '1.0',
    added_tokens: [
      addedToken(0, '<unk>', true),
      addedToken(1, '<s>', true),
      addedToken(2, '</s>', true),
      ...extra.map(([content, special], i) => addedToken(273 + i, content, special)),
    ],
    normalizer:
      style === 'legacy'
        ? {
            type: 'Sequence',
            normalizers: [
              { type: 'Prepend', prepend: '▁' },
              { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
            ],
          }
        : null,
    pre_tokenizer:
      style === 'legacy' ? null : { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
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
      merges: ['▁ t', 'h e', '▁t he', '▁ c', '▁c a', 'f é'],
    },
  };
}

const ROUND_TRIP = [
  '',
  'the the',
  'naïve café 日本 🙂',
  'e\u0301 combining (not NFC)',
  '👩‍👩‍👧 family',
  'tabs\tand\nnewlines\r\n',
  'a  two  spaces',
  'x'.repeat(300),
  '\u0000\u007f',
  '中文，標點。',
];

describe('HuggingFaceTokenizer: byte-level BPE', () => {
  const tok = new HuggingFaceTokenizer(byteLevelJson(), {
    eos_token: '<|im_end|>',
    bos_token: null,
    pad_token: { content: '<|endoftext|>', __type: 'AddedToken' },
  });

  it('encodes with the merges (hand-computed ids)', () => {
    expect(tok.encode('the the')).toEqual([116, 256, 258]); // t|he, Ġthe
    expect(tok.encode('é日')).toEqual([0xc3, 259, 0x97, 0xa5]); // a9|e6 outranks c3|a9
    expect(tok.encode('café 🙂')).toEqual([99, 97, 102, 263, 32, 262]);
    expect(tok.encode('🙂🙂')).toEqual([262, 262]);
    expect(tok.encode('e\u0301')).toEqual([101, 0xcc, 0x81]);
    expect(tok.encode('a<|im_end|>b<think>x</think>')).toEqual([97, 266, 98, 267, 120, 268]);
  });

  it('round-trips byte-exactly and its token bytes are the text’s UTF-8', () => {
    for (const text of ROUND_TRIP) {
      const ids = tok.encode(text);
      expect(tok.decode(ids)).toBe(text);
      expect(Array.from(tokensToBytes(tok, ids))).toEqual(utf8(text));
    }
  });

  it('token boundaries fall where the merges put them, inside characters too', () => {
    expect(tokenBoundaries(tok, tok.encode('the the'))).toEqual([1, 3, 7]);
    // é = c3 a9, 日 = e6 97 a5: the token a9|e6 ends one byte into 日.
    expect(tokenBoundaries(tok, tok.encode('é日'))).toEqual([1, 3, 4, 5]);
    expect(Array.from(tok.tokenBytes(259))).toEqual([0xa9, 0xe6]);
    expect(tok.decode([0xc3])).toBe('\ufffd'); // half a character decodes, never throws
    expect(tokenBoundaries(tok, tok.encode('café 🙂'))).toEqual([1, 2, 3, 5, 6, 10]);
  });

  it('special tokens have no bytes; non-special added tokens stand for their text', () => {
    expect(tok.tokenBytes(266)).toHaveLength(0);
    expect(Buffer.from(tok.tokenBytes(267)).toString()).toBe('<think>');
    expect(tok.decode([97, 266, 98])).toBe('ab');
    expect(tok.render([97, 266, 98])).toBe('a<|im_end|>b');
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([undefined, 266, 264]);
    expect(tok.endOfTurnIds).toEqual([266, 264]);
    expect(tok.specialTokens).toMatchObject({
      eos_token: '<|im_end|>',
      pad_token: '<|endoftext|>',
      bos_token: undefined,
    });
  });

  it('bos/eos that are not tokens, or not strings, are errors naming the file and field', () => {
    expect(() => new HuggingFaceTokenizer(byteLevelJson(), { eos_token: '<nope>' })).toThrow(
      "tokenizer_config.json: eos_token '<nope>' is not a token of tokenizer.json",
    );
    expect(() => new HuggingFaceTokenizer(byteLevelJson(), { bos_token: 3 })).toThrow(
      /tokenizer_config\.json: bos_token must be a string/,
    );
  });
});

describe('HuggingFaceTokenizer: SentencePiece style (▁, byte fallback)', () => {
  const legacy = new HuggingFaceTokenizer(sentencePieceJson('legacy'), {
    bos_token: { content: '<s>', __type: 'AddedToken' },
    eos_token: '</s>',
  });
  const metaspace = new HuggingFaceTokenizer(sentencePieceJson('metaspace'), { bos_token: '<s>', eos_token: '</s>' });

  it('encodes with the merges and byte fallback (hand-computed ids), both styles', () => {
    for (const tok of [legacy, metaspace]) {
      expect(tok.encode('the café')).toEqual([269, 271, 272]); // ▁the ▁ca fé
      expect(tok.encode('the 日')).toEqual([269, 259, 3 + 0xe6, 3 + 0x97, 3 + 0xa5]);
      expect(tok.encode('e\u0301🙂')).toEqual([259, 262, 3 + 0xcc, 3 + 0x81, 3 + 0xf0, 3 + 0x9f, 3 + 0x99, 3 + 0x82]);
      expect(tok.encode('the', { bos: true })).toEqual([1, 269]);
      expect([tok.bosId, tok.eosId, tok.padId]).toEqual([1, 2, 2]);
    }
    expect(legacy.encode(' the')).toEqual([259, 269]); // Prepend adds ▁ to a leading space too
    expect(metaspace.encode(' the')).toEqual([269]); // Metaspace does not: HF decodes this to 'the'
  });

  it('round-trips byte-exactly; token bytes are the text’s UTF-8 after the dummy-prefix space', () => {
    for (const text of ROUND_TRIP) {
      const ids = legacy.encode(text);
      expect(legacy.decode(ids)).toBe(text);
      expect(Array.from(tokensToBytes(legacy, ids))).toEqual(text === '' ? [] : utf8(` ${text}`));
      if (!text.startsWith(' ')) expect(metaspace.decode(metaspace.encode(text))).toBe(text);
    }
  });

  it('token boundaries: pieces, ▁ as a space, one byte per fallback token', () => {
    expect(tokenBoundaries(legacy, legacy.encode('the café'))).toEqual([4, 7, 10]);
    expect(tokenBoundaries(legacy, legacy.encode('the 日'))).toEqual([4, 5, 6, 7, 8]);
    expect(Array.from(legacy.tokenBytes(3 + 0xe6))).toEqual([0xe6]);
    expect(legacy.tokenBytes(1)).toHaveLength(0);
  });
});

const CHATML =
  "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
/** Qwen3's published chat template (tools branch included), as in its tokenizer_config.json. */
const QWEN3 = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}`;

describe('chat templates (tokenizer_config.json chat_template, @huggingface/jinja)', () => {
  const user = [{ role: 'user', content: 'hi' }];
  const dir = mkdtempSync(join(tmpdir(), 'rmt-chat-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ChatML (SmolLM2): system default, user turn, generation prompt', () => {
    const tok = new HuggingFaceTokenizer(byteLevelJson(), { eos_token: '<|im_end|>', chat_template: CHATML });
    const text = tok.applyChatTemplate(user, { addGenerationPrompt: true });
    expect(text).toBe(
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(tok.applyChatTemplate(user).endsWith('hi<|im_end|>\n')).toBe(true);
    // Tokenized whole, the template's special tokens come back as ids.
    expect(tok.encode(text).filter((id) => id === 265)).toHaveLength(3);
  });

  it('Qwen3: enable_thinking false writes an empty think block; true or undefined leaves it to the model', () => {
    const tok = new HuggingFaceTokenizer(byteLevelJson(), {
      eos_token: '<|im_end|>',
      bos_token: null,
      chat_template: QWEN3,
    });
    const head = '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n';
    expect(tok.applyChatTemplate(user, { addGenerationPrompt: true, enableThinking: false })).toBe(
      `${head}<think>\n\n</think>\n\n`,
    );
    expect(tok.applyChatTemplate(user, { addGenerationPrompt: true, enableThinking: true })).toBe(head);
    expect(tok.applyChatTemplate(user, { addGenerationPrompt: true })).toBe(head);
    const turn = tok.applyChatTemplate([
      { role: 'system', content: 'S' },
      ...user,
      { role: 'assistant', content: '<think>\nwhy\n</think>\n\nso' },
    ]);
    expect(turn).toBe(
      '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\nwhy\n</think>\n\nso<|im_end|>\n',
    );
  });

  it('Llama 3: bos_token from the config goes into the text', () => {
    const json = byteLevelJson([
      ['<|begin_of_text|>', true],
      ['<|start_header_id|>', true],
      ['<|end_header_id|>', true],
      ['<|eot_id|>', true],
    ]);
    const tok = new HuggingFaceTokenizer(json, {
      bos_token: '<|begin_of_text|>',
      eos_token: '<|eot_id|>',
      chat_template: LLAMA3,
    });
    expect(tok.applyChatTemplate([{ role: 'user', content: ' hi ' }], { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect([tok.bosId, tok.eosId]).toEqual([264, 267]);
  });

  it('the list-of-named-templates form, and a chat_template.jinja beside tokenizer.json', async () => {
    const tok = new HuggingFaceTokenizer(byteLevelJson(), {
      chat_template: [
        { name: 'default', template: 'D{{ messages[0].content }}' },
        { name: 'tool_use', template: 'T{{ messages[0].content }}' },
      ],
    });
    expect(tok.applyChatTemplate(user)).toBe('Dhi');
    expect(tok.applyChatTemplate(user, { template: 'tool_use' })).toBe('Thi');
    expect(() => tok.applyChatTemplate(user, { template: 'rag' })).toThrow(
      "tokenizer_config.json: no chat template named 'rag' (have default, tool_use)",
    );
    expect(() => new HuggingFaceTokenizer(byteLevelJson(), { chat_template: [{ name: 'x' }] })).toThrow(
      /chat_template\[0\] must be/,
    );
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(byteLevelJson()));
    writeFileSync(join(dir, 'chat_template.jinja'), 'J{{ messages[0].content }}{{ eos_token }}');
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
    const loaded = await HuggingFaceTokenizer.load(join(dir, 'tokenizer.json'));
    expect(loaded.applyChatTemplate(user)).toBe('Jhi<|im_end|>');
    expect(new HuggingFaceTokenizer(byteLevelJson()).chatTemplate).toBeUndefined();
  });

  it('a template that fails to render or parse names the file and the template’s message', async () => {
    const sub = join(dir, 'bad');
    rmSync(sub, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(sub));
    writeFileSync(join(sub, 'tokenizer.json'), JSON.stringify(byteLevelJson()));
    writeFileSync(
      join(sub, 'tokenizer_config.json'),
      JSON.stringify({
        chat_template: "{% if messages[0].role != 'system' %}{{ raise_exception('System role required') }}{% endif %}",
      }),
    );
    const tok = await HuggingFaceTokenizer.load(join(sub, 'tokenizer.json'));
    expect(() => tok.applyChatTemplate(user)).toThrow(
      `${join(sub, 'tokenizer_config.json')}: chat_template failed to render: System role required`,
    );
    const broken = new HuggingFaceTokenizer(byteLevelJson(), { chat_template: '{% if %}' });
    expect(() => broken.applyChatTemplate(user)).toThrow(/^tokenizer_config\.json: chat_template does not parse: /);
    expect(() => new HuggingFaceTokenizer(byteLevelJson()).applyChatTemplate(user)).toThrow(
      'tokenizer_config.json: no chat_template',
    );
  });
});

describe('tools/hf-tiny.mjs tokenizers (tiny Hugging Face folders)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rmt-hf-tiny-tok-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // The generation prompt of each family's chat template for one user message 'hi', written by hand.
  const expected: Record<TinyFamily, string> = {
    llama3:
      '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    smollm2:
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    qwen2:
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    qwen3: '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  };
  it.each(['llama3', 'smollm2', 'qwen2', 'qwen3'] as const)(
    '%s: loads beside the weights, ids inside the model’s vocabulary, bos/eos as config.json',
    async (family) => {
      const sub = join(dir, family);
      const { config } = writeTinyHfFolder(sub, { family });
      const tok = await loadTokenizer(sub);
      expect(tok).toBeInstanceOf(HuggingFaceTokenizer);
      const hf = tok as HuggingFaceTokenizer;
      expect(hf.vocabSize).toBe(config.vocab_size);
      expect(hf.eosId).toBe(config.eos_token_id);
      if (!family.startsWith('qwen')) expect(hf.bosId).toBe(config.bos_token_id);
      const text = hf.applyChatTemplate([{ role: 'user', content: 'hi' }], {
        addGenerationPrompt: true,
        enableThinking: false,
      });
      expect(text).toBe(expected[family]);
      const ids = hf.encode(text);
      expect(ids.every((id) => id >= 0 && id < (config.vocab_size as number))).toBe(true);
      expect(hf.decode(hf.encode('the cat sat: 42.'))).toBe('the cat sat: 42.');
      // 64 ids hold no capital letters: they are dropped on encoding (documented in hf-tiny.mjs).
      expect(hf.render(ids)).toBe(text.replace(/[A-Z]/g, ''));
    },
  );

  it.each(['llama3', 'qwen3'] as const)('%s: saving the model keeps the chat template and bos/eos', async (family) => {
    await loadBackend('cpu');
    const sub = join(dir, `${family}-saved-from`);
    writeTinyHfFolder(sub, { family });
    const loaded = await loadModel(sub);
    const saved = join(dir, `${family}-saved`);
    await saveModel(saved, loaded.model, loaded.tokenizer);
    loaded.model.dispose();
    const [before, after] = [
      (await loadTokenizer(sub)) as HuggingFaceTokenizer,
      (await loadTokenizer(saved)) as HuggingFaceTokenizer,
    ];
    expect(after.eosId).toBe(before.eosId);
    expect(after.bosId).toBe(before.bosId);
    expect(after.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe(
      expected[family].replace('<think>\n\n</think>\n\n', ''),
    );
  });
  it('a larger vocabulary holds every byte and some merges', () => {
    const { json } = tinyTokenizer('qwen3', 300);
    const tok = new HuggingFaceTokenizer(json);
    expect(tok.decode(tok.encode('naïve 日本 🙂'))).toBe('naïve 日本 🙂');
    expect(tok.encode(' the')).toHaveLength(1);
  });
});
