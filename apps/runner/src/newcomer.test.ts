// Defects a new user hit, each pinned by a test: a config file merged over the preset, paths in it read
// from its folder, an output folder that cannot exist refused at once, a broken tokenizer named as broken,
// `rmt resume` refusing a folder that is not a mid-training run.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import YAML from 'yaml';
import { itOrSkip } from '@rmt/testing';
import { FAMILIES } from '../../../tools/hf-tiny.mjs';
import { embeddedBaseDir, presetsDir, resolveConfig } from './config.js';
import { runCli } from './index.js';
import { RunDirectory } from './output.js';
import { captureCli } from './test-cli.js';

const root = mkdtempSync(join(tmpdir(), 'rmt-newcomer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const rmt = (...args: string[]) => captureCli(['--backend', 'wasm', ...args]);

function writeConfig(name: string, value: unknown): string {
  const file = join(root, name);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, YAML.stringify(value));
  return file;
}

describe('--config', () => {
  it('a file of only the fields a user changes is merged over the default preset', () => {
    const file = writeConfig('steps.yaml', { midtrain: { steps: 3 } });
    const { config, sources } = resolveConfig({ config: file });
    // The default preset's budget, read independently from the preset file (not from the code's own output).
    const preset = YAML.parse(readFileSync(join(presetsDir, 'default.yaml'), 'utf8')) as {
      midtrain: { budget: { initial: number } };
    };
    expect(config.midtrain.steps).toBe(3);
    expect(config.midtrain.budget.initial).toBe(preset.midtrain.budget.initial);
    expect(config.midtrain.budget.initial).not.toBe(800); // the schema default a preset-less merge fell back to
    expect(sources).toEqual(['preset default', file]);
  });

  it('merges over a named preset too', () => {
    const file = writeConfig('tiny-steps.yaml', { midtrain: { steps: 2 } });
    const { config } = resolveConfig({ preset: 'tiny', config: file });
    expect(config.midtrain.steps).toBe(2);
    expect(config.midtrain.groupSize).toBe(3); // from tiny.yaml
  });

  it("reads relative paths in the file from the file's folder; --set paths stay as given", () => {
    const file = writeConfig('configs/run.yaml', {
      base: '../models/mine',
      pretrain: { from: 'start' },
      data: { corpus: { path: 'corpus.txt' } },
    });
    const { config } = resolveConfig({ config: file, set: ['eval.sites=5'] });
    expect(config.base).toBe(join(root, 'models/mine'));
    expect(config.pretrain.from).toBe(join(root, 'configs/start'));
    expect(config.data.corpus).toMatchObject({ path: join(root, 'configs/corpus.txt') });
    expect(resolveConfig({ config: writeConfig('embedded.yaml', { base: 'embedded' }) }).config.base).toBe('embedded');
    expect(resolveConfig({ set: ['base=rel/dir'] }).config.base).toBe('rel/dir');
  });
});

describe('keys that only one prompt format reads', () => {
  it('data.enableThinking with the control-token format is refused by name, not ignored', async () => {
    const { code, stderr } = await rmt(
      'run',
      '--preset',
      'tiny',
      '--set',
      'data.enableThinking=false',
      '--out',
      join(root, 'thinking'),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/data\.chatTemplate and data\.enableThinking apply to data\.format 'llm-text' only/);
  });
});

describe('a model too large for the backend', () => {
  // SmolLM2-135M's config.json shape; no weights are needed: the backend is chosen from the shape first.
  const smol = {
    ...FAMILIES.smollm2,
    hidden_size: 576,
    intermediate_size: 1536,
    num_hidden_layers: 30,
    num_attention_heads: 9,
    num_key_value_heads: 3,
    vocab_size: 49152,
    max_position_embeddings: 8192,
  };
  const dir = join(root, 'smollm2-135m-shape');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(smol));
  const args = [
    '--preset',
    'tiny',
    '--set',
    `base=${dir}`,
    '--set',
    'midtrain.microBatchRows=16',
    '--out',
    join(root, 'too-large'),
  ];

  it('wasm asked by name is refused before any step, with the sizes, not a WebAssembly abort', async () => {
    const { code, stderr } = await rmt('run', ...args);
    expect(code).toBe(1);
    expect(stderr).toMatch(/This training run needs ~[\d.]+ GiB/);
    expect(stderr).toMatch(/more than the WebAssembly heap holds .*use backend 'auto' or 'cpu'/);
  });

  it('auto passes over wasm to a backend that holds it', async () => {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
    const code = await runCli(['node', 'rmt', 'run', ...args]); // no --backend: auto
    vi.restoreAllMocks();
    expect(code).toBe(1); // there are no weights in the folder: it fails at loading them, after the pick
    expect(stderr).toMatch(/backend: (cpu|tensorflow)/);
    expect(stderr).toMatch(/model\.safetensors/);
  });
});

describe('--out', () => {
  itOrSkip(
    'a folder that cannot be created (/proc/…) is refused at once, naming it',
    existsSync('/proc/self') ? undefined : 'no /proc on this machine',
    async () => {
      const { code, stderr } = await rmt('run', '--preset', 'tiny', '--out', '/proc/rmt-no-such-run');
      expect(code).toBe(1);
      expect(stderr).toMatch(
        /\/proc\/rmt-no-such-run: cannot create the output folder \(\/proc does not accept new folders; ENOENT\)/,
      );
    },
  );

  it('a path through a file is refused naming the file', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    const { code, stderr } = await rmt('run', '--preset', 'tiny', '--out', join(file, 'run'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/cannot create the output folder \(.*a-file is not a folder; ENOTDIR\)/);
  });
});

describe('a broken tokenizer', () => {
  it('a truncated tokenizer.json is reported as invalid, not as missing', async () => {
    const dir = join(root, 'broken-tokenizer');
    cpSync(embeddedBaseDir, dir, { recursive: true });
    rmSync(join(dir, 'tokenizer.rmt.json'));
    writeFileSync(join(dir, 'tokenizer.json'), '{"version": "1.0", "model": {"type": "BPE", "vocab": {"a": 0');
    const { code, stderr } = await rmt('generate', '--model', dir, '--prompt', 'x', '--max-tokens', '2');
    expect(code).toBe(1);
    expect(stderr).toMatch(/tokenizer\.json: not valid JSON, truncated or corrupt/);
    expect(stderr).not.toMatch(/no tokenizer found/);
  });
});

describe('rmt resume', () => {
  it('refuses a folder of another command, saying what continues it', async () => {
    const out = new RunDirectory(join(root, 'cmp'));
    await out.writeConfig(resolveConfig({ preset: 'tiny' }).config, ['test'], 'compare');
    const { code, stderr } = await rmt('resume', out.dir);
    expect(code).toBe(1);
    expect(stderr).toMatch(/a run of `rmt compare`; `rmt resume` continues mid-training runs.*run `rmt compare` again/);
  });

  it('names a folder that does not exist', async () => {
    const { code, stderr } = await rmt('resume', join(root, 'nothing-here'));
    expect(code).toBe(1);
    expect(stderr).toMatch(/nothing-here: no such run directory/);
  });
});
