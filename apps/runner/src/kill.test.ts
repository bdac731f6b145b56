// SIGKILL at random moments, many times, then resume: the run ends with exactly the weights of an
// uninterrupted one and its logs read as one run. Spawns the built CLI (npm test builds first).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadBackend } from '@rmt/backend';
import { loadModel } from '@rmt/model';
import { describeOrSkip } from '@rmt/testing';

const cli = fileURLToPath(new URL('../bin/rmt.js', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url)));
const root = mkdtempSync(join(tmpdir(), 'rmt-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Run the CLI; kill it with SIGKILL after `killAfterMs` (if still running). Resolves with the exit code or 'killed'. */
function rmt(args: string[], killAfterMs?: number): Promise<number | 'killed'> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, '--backend', 'wasm', ...args], { stdio: 'ignore' });
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : (code ?? 1));
    });
  });
}

async function weights(dir: string): Promise<number[][]> {
  const { model } = await loadModel(dir);
  const out = model.parameters().map((p) => Array.from(p.dataSync()));
  model.dispose();
  return out;
}

const STEPS = 12;

describeOrSkip('kill -9 and resume', built ? undefined : 'the CLI is not built (npm test builds it first)', () => {
  beforeAll(async () => {
    await loadBackend('wasm');
  });
  it('survives SIGKILL at random moments (6 kills) and ends bit-identical to an uninterrupted run', async () => {
    const base = join(root, 'base');
    expect(await rmt(['pretrain', '--preset', 'tiny', '--out', base, '--quiet'])).toBe(0);
    const args = [
      '--preset',
      'tiny',
      '--set',
      `base=${join(base, 'model')}`,
      '--set',
      `midtrain.steps=${STEPS}`,
      '--set',
      'midtrain.checkpointEvery=1',
      '--quiet',
    ];
    const ref = join(root, 'ref');
    const started = performance.now();
    expect(await rmt(['midtrain', ...args, '--out', ref])).toBe(0);
    // Kill moments are drawn over the uninterrupted run's own duration, so they land inside a run however
    // fast the machine is (start-up, scoring, steps, checkpoint writes, evaluation).
    const duration = performance.now() - started;

    const run = join(root, 'killed');
    let seed = 7;
    const delay = () => duration * (0.2 + 0.75 * ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));
    const hasCheckpoint = () =>
      existsSync(join(run, 'checkpoints')) && readdirSync(join(run, 'checkpoints')).some((n) => /^step-\d+$/.test(n));
    const hasConfig = () => existsSync(join(run, 'config.resolved.yaml'));
    let kills = 0;
    for (let attempt = 0; attempt < 12 && kills < 6; attempt++) {
      // Once the run has written its config, `rmt resume` continues it at any moment: from the newest checkpoint,
      // or (killed before the first) from the saved config.
      const outcome = await rmt(
        hasConfig() ? ['resume', run, '--quiet'] : ['midtrain', ...args, '--out', run],
        delay(),
      );
      if (outcome !== 'killed') {
        expect(outcome, 'a run the kill did not reach must succeed').toBe(0);
        break; // finished before the kill
      }
      kills++;
      // Never a half-written checkpoint: every step folder is complete.
      if (hasCheckpoint())
        for (const n of readdirSync(join(run, 'checkpoints')).filter((x) => /^step-\d+$/.test(x)))
          expect(existsSync(join(run, 'checkpoints', n, 'state.json'))).toBe(true);
    }
    if (!existsSync(join(run, 'model')))
      expect(await rmt(hasConfig() ? ['resume', run, '--quiet'] : ['midtrain', ...args, '--out', run])).toBe(0);
    expect(kills).toBeGreaterThan(0);
    expect(await weights(join(run, 'model'))).toEqual(await weights(join(ref, 'model')));
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: STEPS }, (_, i) => i));
  }, 180_000);
});
