// `rmt serve` as users run it: the built CLI on a loopback port the OS picks, answering /health, /v1/models
// and a completion with token ids, then stopping cleanly on SIGTERM; a non-loopback host without a key is
// refused before anything is served.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { describeOrSkip } from '@rmt/testing';
import { runCli } from './index.js';

const cli = fileURLToPath(new URL('../bin/rmt.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
const baseModel = fileURLToPath(new URL('../base-model/', import.meta.url));

describe('rmt serve (in process)', () => {
  it('refuses a non-loopback host without --api-key-env, and an unset key variable, naming them', async () => {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
    const open = await runCli([
      'node',
      'rmt',
      '--backend',
      'cpu',
      'serve',
      '--model',
      baseModel,
      '--host',
      '0.0.0.0',
      '--port',
      '0',
    ]);
    const unset = await runCli([
      'node',
      'rmt',
      '--backend',
      'cpu',
      'serve',
      '--model',
      baseModel,
      '--port',
      '0',
      '--api-key-env',
      'RMT_SERVE_TEST_UNSET_KEY',
    ]);
    vi.restoreAllMocks();
    expect([open, unset]).toEqual([1, 1]);
    expect(stderr).toMatch(
      /--host 0\.0\.0\.0 is not a loopback address: serving beyond this machine needs --api-key-env NAME/,
    );
    expect(stderr).toMatch(/--api-key-env RMT_SERVE_TEST_UNSET_KEY: that environment variable is not set/);
  });
});

describeOrSkip(
  'rmt serve (the built CLI)',
  built ? undefined : 'the CLI is not built (npm test builds it first)',
  () => {
    it('serves on the port the OS picks, answers, and stops on SIGTERM', async () => {
      const child = spawn(
        process.execPath,
        [cli, '--backend', 'wasm', 'serve', '--model', baseModel, '--port', '0', '--served-model-name', 'base'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          const timer = setTimeout(() => reject(new Error(`no address printed within 60 s: ${out}`)), 60_000);
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              resolve(m[1]!);
            }
          });
          child.on('exit', (code) => reject(new Error(`rmt serve exited with ${code} before serving: ${out}`)));
        });
        expect((await fetch(`${url}/health`)).status).toBe(200);
        const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
        expect(models.data[0]!.id).toBe('base');
        const res = await fetch(`${url}/v1/completions`, {
          method: 'POST',
          body: JSON.stringify({
            model: 'base',
            prompt: [1, 2, 3],
            n: 2,
            max_tokens: 4,
            temperature: 0,
            return_token_ids: true,
            logprobs: 0,
          }),
        });
        const body = (await res.json()) as {
          choices: { index: number; token_ids: number[]; logprobs: { token_logprobs: number[] } }[];
        };
        expect(body.choices.map((c) => c.index)).toEqual([0, 1]);
        expect(body.choices[0]!.token_ids).toHaveLength(body.choices[0]!.logprobs.token_logprobs.length);
        const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        expect(await exit).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 90_000);
  },
);
