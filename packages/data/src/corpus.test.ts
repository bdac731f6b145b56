// Real text as corpora (issue 14, point 5): JSONL shapes read out of the box (GSM8K, MATH), lists of fields,
// errors that list a row's fields, mixed folders in a fixed order, and a cap on documents.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { itOrSkip, sharedData, sharedDataSkip } from '@rmt/testing';
import { dataConfigSchema, readCorpus } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'rmt-corpus-shapes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

describe('JSONL corpora', () => {
  it("field auto: text, else GSM8K's question + answer, else MATH's problem + solution, joined with a blank line", async () => {
    expect(await readCorpus({ path: write('t.jsonl', '{"text":"plain","question":"q"}\n') })).toEqual(['plain']);
    const gsm = write(
      'gsm.jsonl',
      '{"question":"How many?","answer":"2 + 2 = <<2+2=4>>4\\n#### 4"}\n{"question":"And?","answer":"#### 5"}\n',
    );
    expect(await readCorpus({ path: gsm })).toEqual(['How many?\n\n2 + 2 = <<2+2=4>>4\n#### 4', 'And?\n\n#### 5']);
    const math = write(
      'math.jsonl',
      '{"problem":"Find $x$.","solution":"$x = \\\\boxed{1}$","answer":"1","level":2}\n',
    );
    expect(await readCorpus({ path: math })).toEqual(['Find $x$.\n\n$x = \\boxed{1}$']);
    expect(await readCorpus({ path: math, joinWith: '\nSolution: ' })).toEqual([
      'Find $x$.\nSolution: $x = \\boxed{1}$',
    ]);
  });

  it('field: one name, or a list of names joined (empty parts left out)', async () => {
    const file = write('rows.jsonl', '{"title":"T","body":"B","n":1}\n{"title":"","body":"only body"}\n');
    expect(await readCorpus({ path: file, field: 'body' })).toEqual(['B', 'only body']);
    expect(await readCorpus({ path: file, field: ['title', 'body'], joinWith: ': ' })).toEqual(['T: B', 'only body']);
  });

  it('errors list the fields a row has, and say what to set', async () => {
    const file = write('other.jsonl', '{"prompt":"p","completion":"c"}\n');
    await expect(readCorpus({ path: file })).rejects.toThrow(
      /other\.jsonl:1: data\.corpus\.field is auto, and the row matches no known shape \(text \(text\), question \+ answer \(GSM8K\), problem \+ solution \(MATH\)\); the row has: prompt, completion — set data\.corpus\.field/,
    );
    await expect(readCorpus({ path: file, field: 'text' })).rejects.toThrow(
      /other\.jsonl:1: field 'text' is missing \(the row has: prompt, completion\)/,
    );
    // The shape is read from the first row: a later row without it is named with its line.
    const mixed = write('mixed.jsonl', '{"question":"q","answer":"a"}\n\n{"question":"q2"}\n');
    await expect(readCorpus({ path: mixed })).rejects.toThrow(
      /mixed\.jsonl:3: field 'answer' is missing \(the row has: question\)/,
    );
    await expect(readCorpus({ path: write('arr.jsonl', '[1,2]\n') })).rejects.toThrow(
      /arr\.jsonl:1: expected a JSON object, got an array/,
    );
    await expect(readCorpus({ path: write('nul.jsonl', '{"text":null}\n') })).rejects.toThrow(
      /nul\.jsonl:1: field 'text' is not a string \(null\)/,
    );
  });
});

describe('folders and limits', () => {
  it('a folder of mixed .txt and .jsonl files is read recursively in code-unit name order', async () => {
    const folder = join(dir, 'mixed');
    mkdirSync(join(folder, 'b-sub'), { recursive: true });
    writeFileSync(join(folder, 'Z.txt'), 'upper<|endoftext|>case'); // 'Z' < 'a' in code units (localeCompare would differ)
    writeFileSync(join(folder, 'a.jsonl'), '{"question":"q","answer":"a"}\n');
    writeFileSync(join(folder, 'b-sub', 'c.txt'), 'nested');
    writeFileSync(join(folder, 'ignored.bin'), 'x');
    expect(await readCorpus({ path: folder })).toEqual(['upper', 'case', 'q\n\na', 'nested']);
    mkdirSync(join(dir, 'empty-folder'));
    await expect(readCorpus({ path: join(dir, 'empty-folder') })).rejects.toThrow(
      /empty-folder: the corpus folder has no \.txt, \.text, \.md or \.jsonl files/,
    );
  });

  it('maxDocuments keeps the first N documents in reading order', async () => {
    const folder = join(dir, 'mixed');
    expect(await readCorpus({ path: folder, maxDocuments: 3 })).toEqual(['upper', 'case', 'q\n\na']);
    expect(await readCorpus({ path: folder, maxDocuments: 1 })).toEqual(['upper']);
    expect(await readCorpus({ path: folder, maxDocuments: null })).toHaveLength(4);
  });

  it('config: field is auto by default, a name or a non-empty list; maxDocuments a positive integer or null', () => {
    const corpus = (c: object) => dataConfigSchema.parse({ corpus: { path: 'x', ...c } }).corpus;
    expect(corpus({})).toEqual({
      path: 'x',
      format: 'auto',
      field: 'auto',
      joinWith: '\n\n',
      separator: '<|endoftext|>',
      maxDocuments: null,
    });
    expect(corpus({ field: ['problem', 'solution'], maxDocuments: 10 })).toMatchObject({
      field: ['problem', 'solution'],
      maxDocuments: 10,
    });
    for (const bad of [
      { field: [] },
      { field: '' },
      { field: [3] },
      { maxDocuments: 0 },
      { maxDocuments: 1.5 },
      { fields: 'x' },
    ]) {
      expect(() => corpus(bad), JSON.stringify(bad)).toThrow();
    }
  });
});

describe('the shared data sets as text', () => {
  itOrSkip('GSM8K and MATH-500 JSONL read out of the box (field: auto)', sharedDataSkip, async () => {
    const gsm = await readCorpus({ path: sharedData('gsm8k/test.jsonl') });
    expect(gsm).toHaveLength(1319);
    expect(gsm[0]).toMatch(
      /^Janet’s ducks lay 16 eggs per day\.[^]*\n\nJanet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day\.[^]*#### 18$/,
    );
    const math = await readCorpus({ path: sharedData('math500/test.jsonl'), maxDocuments: 5 });
    expect(math).toHaveLength(5);
    expect(math.every((d) => d.includes('\n\n') && d.length > 40)).toBe(true);
    expect(await readCorpus({ path: sharedData('tinystories-sample/tinystories_sample.txt') })).toHaveLength(5);
  });
});
