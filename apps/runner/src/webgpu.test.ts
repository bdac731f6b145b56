// The webgpu backend through the CLI (issue 19), in CI on Mesa's lavapipe (a software Vulkan device):
// stories260K scores on webgpu as on cpu (top-1 and mean NLL to 4 decimals), and a tiny `rmt run` completes,
// reproduces for its seed (two fresh processes reach the same checkpoint) and, killed with SIGKILL after its
// first checkpoint and resumed, ends with exactly the weights and metrics of the uninterrupted run. Skipped,
// with the reason, where Dawn finds no adapter (never with RMT_REQUIRE_WEBGPU=1, see @rmt/testing).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, expect, vi } from 'vitest';
import { loadModel } from '@rmt/model';
import { describeEachBackend, itOrSkip, sharedData, sharedDataSkip } from '@rmt/testing';
import { captureCli } from './test-cli.js';

const cli = fileURLToPath(new URL('../bin/rmt.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
const root = mkdtempSync(join(tmpdir(), 'rmt-webgpu-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

interface Outcome {
  code: number | 'killed';
  stderr: string;
  /** When the first checkpoint was complete, in ms after the start (undefined if it never was). */
  checkpointAt?: number;
  ms: number;
}

/**
 * `rmt --backend webgpu <args>` as a child process. With `killAfterCheckpointMs`, it is killed with SIGKILL
 * that long after its first checkpoint (`checkpoint`) is complete, if it is still running.
 */
function rmt(args: string[], checkpoint?: string, killAfterCheckpointMs?: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, '--backend', 'webgpu', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + String(c)).slice(-4000)));
    let checkpointAt: number | undefined;
    let kill: NodeJS.Timeout | undefined;
    const poll =
      checkpoint === undefined
        ? undefined
        : setInterval(() => {
            if (checkpointAt !== undefined || !existsSync(join(checkpoint, 'state.json'))) return;
            checkpointAt = performance.now() - started;
            if (killAfterCheckpointMs !== undefined)
              kill = setTimeout(() => child.kill('SIGKILL'), killAfterCheckpointMs);
          }, 5);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(kill);
      resolve({
        code: signal === 'SIGKILL' ? 'killed' : (code ?? 1),
        stderr,
        checkpointAt,
        ms: performance.now() - started,
      });
    });
  });
}

async function weights(dir: string): Promise<number[][]> {
  const { model } = await loadModel(dir);
  const out = await Promise.all(model.parameters().map(async (p) => Array.from(await p.data())));
  model.dispose();
  return out;
}

/** metrics.jsonl without what measures the machine (timings, memory): what a reproduced run must repeat exactly. */
function metrics(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) =>
      Object.fromEntries(
        Object.entries(JSON.parse(line) as Record<string, unknown>).filter(([k]) => !/^(timing|mem)\//.test(k)),
      ),
    );
}

const sameFile = (a: string, b: string) => readFileSync(a).equals(readFileSync(b));

describeEachBackend(
  'rmt on webgpu',
  () => {
    itOrSkip(
      'score: stories260K gives the top-1 and mean NLL of the cpu backend (4 decimals)',
      sharedDataSkip,
      async () => {
        const args = [
          'score',
          '--model',
          sharedData('stories260k/stories260K.bin'),
          '--text',
          sharedData('tinystories-sample/tinystories_sample.txt'),
          '--json',
        ];
        const scores = [];
        for (const backend of ['cpu', 'webgpu']) {
          const { code, stdout, stderr } = await captureCli(['--backend', backend, ...args]);
          expect(code, stderr).toBe(0);
          scores.push(JSON.parse(stdout) as { tokens: number; top1: number; loss: number; entropy: number });
        }
        const [cpu, webgpu] = scores as [(typeof scores)[0], (typeof scores)[0]];
        expect(cpu.tokens).toBeGreaterThan(1000);
        expect(webgpu.tokens).toBe(cpu.tokens);
        expect(webgpu.top1).toBeCloseTo(cpu.top1, 4);
        expect(webgpu.loss).toBeCloseTo(cpu.loss, 4);
        expect(webgpu.entropy).toBeCloseTo(cpu.entropy, 4);
      },
    );

    itOrSkip(
      'run --preset tiny completes, reproduces for its seed, and after SIGKILL + resume ends with its exact weights',
      built ? undefined : 'the CLI is not built (npm test builds it first)',
      async () => {
        const run = (out: string) => ['run', '--preset', 'tiny', '--out', out, '--quiet'];
        // The tiny preset checkpoints every 2 of its 4 steps: step 2 is the first.
        const first = (dir: string) => join(dir, 'checkpoints', 'step-000002');

        const ref = join(root, 'ref');
        const straight = await rmt(run(ref), first(ref));
        expect(straight.code, straight.stderr).toBe(0);
        expect(existsSync(join(ref, 'model', 'model.safetensors'))).toBe(true);
        expect(straight.checkpointAt, 'the uninterrupted run wrote its first checkpoint').toBeDefined();

        // Killed at a moment drawn over the first half of what the uninterrupted run did after its first
        // checkpoint (steps 3 and 4, the second checkpoint, the evaluation), so it lands inside the run.
        const killed = join(root, 'killed');
        const delay = Math.random() * 0.5 * (straight.ms - straight.checkpointAt!);
        const interrupted = await rmt(run(killed), first(killed), delay);
        expect(
          interrupted.code,
          `killed ${delay.toFixed(0)} ms after the first checkpoint: ${interrupted.stderr}`,
        ).toBe('killed');
        expect(existsSync(join(killed, 'model')), 'the kill came before the run finished').toBe(false);
        // Two fresh processes from the same seed: the same first checkpoint, weights and AdamW moments.
        for (const file of ['model.safetensors', 'optimizer.safetensors', 'state.json'])
          expect(sameFile(join(first(killed), file), join(first(ref), file)), file).toBe(true);

        const resumed = await rmt(['resume', killed, '--quiet']);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(await weights(join(killed, 'model'))).toEqual(await weights(join(ref, 'model')));
        expect(metrics(killed).map((m) => m.step)).toEqual([0, 1, 2, 3]);
        expect(metrics(killed)).toEqual(metrics(ref));
        expect(JSON.parse(readFileSync(join(killed, 'eval.json'), 'utf8'))).toEqual(
          JSON.parse(readFileSync(join(ref, 'eval.json'), 'utf8')),
        );
      },
      120_000,
    );
  },
  ['webgpu'],
);
