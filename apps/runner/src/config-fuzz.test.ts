// Bad configs: mutated YAML/JSON files, wrong types and extreme values at every field, unknown keys, alias
// bombs and oversized files are all clear errors naming the file and the field — never a crash, and never a
// size the process would try to allocate.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { fuzzParser } from '@rmt/testing';
import { configJsonSchema, merge, presetsDir, resolveConfig, validateConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'rmt-config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Node {
  type?: string;
  properties?: Record<string, Node>;
}

/** Every leaf field of the run config, as a dotted path (from the JSON Schema the CLI prints). */
function leafPaths(node: Node, prefix: string[] = []): string[][] {
  if (node.type === 'object' && node.properties)
    return Object.entries(node.properties).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix];
}

const at = (path: string[], value: unknown): unknown => path.reduceRight<unknown>((v, key) => ({ [key]: v }), value);
const tiny = YAML.parse(readFileSync(join(presetsDir, 'tiny.yaml'), 'utf8')) as unknown;

describe('config fuzzing', () => {
  it('mutated YAML and JSON config files: accepted, or an error naming the file', async () => {
    const text = readFileSync(join(presetsDir, 'default.yaml'));
    for (const [name, good] of [
      ['fuzz.yaml', text],
      ['fuzz.json', Buffer.from(JSON.stringify(YAML.parse(text.toString()), null, 1))],
    ] as const) {
      const file = join(dir, name);
      const rejected = await fuzzParser(
        good,
        file,
        (bytes) => {
          writeFileSync(file, bytes);
          resolveConfig({ config: file });
        },
        300,
      );
      expect(rejected).toBeGreaterThan(30);
    }
  });

  it('every field, given a wrong type or an extreme value, is accepted or named in the error', () => {
    const paths = leafPaths(configJsonSchema() as Node);
    expect(paths.length).toBeGreaterThan(80);
    const values: unknown[] = [
      -1,
      0,
      1.5,
      1e308,
      -1e308,
      2 ** 53 + 2,
      Number.NaN,
      'x',
      '',
      null,
      true,
      [],
      [1, 2, 3],
      {},
    ];
    let rejected = 0;
    for (const path of paths) {
      for (const value of values) {
        try {
          validateConfig(merge(tiny, at(path, value)), 'fuzz.yaml');
        } catch (error) {
          rejected++;
          const message = (error as Error).message;
          expect(message.startsWith('fuzz.yaml: invalid config\n'), message).toBe(true);
          // The issue names the field itself, or (for a value replacing a whole section) a parent of it.
          const named = message
            .split('\n')
            .slice(1)
            .map((line) => line.trim().split(':')[0]!);
          expect(
            named.some((n) => path.join('.').startsWith(n) || n.startsWith(path.join('.'))),
            `${path.join('.')} = ${String(value)}: ${message}`,
          ).toBe(true);
        }
      }
    }
    expect(rejected).toBeGreaterThan(paths.length * 5);
  });

  it('sizes that would exhaust memory are refused, naming the field', () => {
    for (const field of [
      ['data', 'documents'],
      ['pretrain', 'sequences'],
      ['pretrain', 'model', 'dim'],
      ['midtrain', 'groupSize'],
      ['midtrain', 'sitesPerStep'],
      ['midtrain', 'maxReasoningTokens'],
      ['midtrain', 'budget', 'initial'],
      ['eval', 'sites'],
      ['posttrain', 'problems'],
    ]) {
      const raw = merge(tiny, at(field, 1e9));
      expect(() => validateConfig(raw, 'big.yaml')).toThrow(new RegExp(`${field.join('\\.')}: Too big`));
    }
  });

  it('unknown keys at any depth, alias bombs and oversized files are clear errors', () => {
    expect(() => validateConfig(merge(tiny, { midtrain: { budget: { gama: 0.5 } } }), 'c.yaml')).toThrow(
      /midtrain\.budget: Unrecognized key: "gama"/,
    );
    expect(() => validateConfig(merge(tiny, { extra: 1 }), 'c.yaml')).toThrow(/\(root\): Unrecognized key: "extra"/);
    const bomb = join(dir, 'bomb.yaml');
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    writeFileSync(bomb, `${lines.join('\n')}\n`);
    expect(() => resolveConfig({ config: bomb })).toThrow(/bomb\.yaml: not valid YAML \(.*alias/i);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(2 << 20)}\nseed: 1\n`);
    expect(() => resolveConfig({ config: big })).toThrow(/big\.yaml: \d+ bytes is too large for a config file/);
  });
});
