// Test helpers shared by every package's tests (resolved as `@rmt/testing` by vitest.shared.ts).
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe } from 'vitest';
import { availableBackends, loadBackend, type BackendName } from '@rmt/backend';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const backends = await availableBackends();
const ALL: BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Run the same suite once per backend present in this process (cpu and wasm always; the native ones when
 * installed). Absent backends show as skipped, so a run says what it did not cover.
 */
export function describeEachBackend(name: string, suite: (backend: BackendName) => void, only?: BackendName[]): void {
  for (const backend of ALL) {
    const wanted = only === undefined || only.includes(backend);
    const run = wanted && backends.includes(backend) ? describe : describe.skip;
    run(`${name} [${backend}]`, () => {
      beforeAll(async () => {
        await loadBackend(backend);
      });
      suite(backend);
    });
  }
}

/** ../shared/data beside the repository (real data for tests; never copied into the repo). */
export const sharedDataDir = fileURLToPath(new URL('../../shared/data/', import.meta.url));
export const hasSharedData = existsSync(sharedDataDir);

/**
 * Bounded mutation fuzzing (issue: every parser rejects bad input with a clear error). Yields `trials`
 * deterministic variants of a valid input: bytes overwritten, cut short, random bytes inserted, a slice
 * repeated, an aligned int32 set to an extreme, or (in text) a number replaced by an extreme token. A
 * seeded LCG, so a failure reproduces. Hand-written rather than fast-check: byte-level mutation of a known
 * good file finds parser bugs faster than generating structures, and needs no dependency.
 */
export function* mutations(good: Uint8Array, trials: number, seed = 1): Generator<Uint8Array> {
  let state = seed >>> 0 || 1;
  const int = (n: number) => Math.floor(((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
  const EXTREME_TEXT = ['-1', '0', '1e308', '-1e308', '99999999999999999999', 'NaN', '1.5', '"x"', 'null', '[]', '{}', 'true', '.inf'];
  const EXTREME_INT = [0, -1, 0x7fffffff, -0x80000000, 1 << 30, 1 << 16];
  for (let t = 0; t < trials; t++) {
    let b = Buffer.from(good);
    const at = int(b.length + 1);
    switch (int(6)) {
      case 0:
        for (let n = 1 + int(4); n > 0; n--) b[int(b.length)] = int(256);
        break;
      case 1:
        b = b.subarray(0, at);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))), b.subarray(at)]);
        break;
      case 3: {
        const slice = b.subarray(at, at + 1 + int(64));
        b = Buffer.concat([b.subarray(0, at), ...Array.from({ length: 2 + int(50) }, () => slice), b.subarray(at)]);
        break;
      }
      case 4:
        if (b.length >= 4) b.writeInt32LE(EXTREME_INT[int(EXTREME_INT.length)]!, 4 * int(Math.floor(b.length / 4)));
        break;
      default: {
        const text = b.toString('latin1');
        const numbers = [...text.matchAll(/-?\d+(\.\d+)?/g)];
        if (numbers.length === 0) break;
        const m = numbers[int(numbers.length)]!;
        b = Buffer.from(text.slice(0, m.index) + EXTREME_TEXT[int(EXTREME_TEXT.length)] + text.slice(m.index! + m[0].length), 'latin1');
      }
    }
    yield new Uint8Array(b);
  }
}

/**
 * Feed every mutation to `parse`: it must either accept the input or throw an Error whose message names
 * `file` (never a bare TypeError, RangeError or a crash). Returns how many were rejected, so a test can
 * check the fuzzing reached the parser's checks at all.
 */
export async function fuzzParser(good: Uint8Array, file: string, parse: (bytes: Uint8Array) => unknown, trials = 300, seed = 1): Promise<number> {
  let rejected = 0;
  let trial = 0;
  for (const bytes of mutations(good, trials, seed)) {
    try {
      await parse(bytes);
    } catch (error) {
      rejected++;
      if (!(error instanceof Error) || !error.message.includes(file)) {
        throw new Error(`mutation ${trial} (seed ${seed}) of ${file}: unclear error: ${String((error as Error)?.stack ?? error)}`, { cause: error });
      }
    }
    trial++;
  }
  return rejected;
}

/**
 * A real small disk for disk-full tests: a tmpfs of `size` (e.g. '64k') mounted at a new folder, unmounted
 * after the suite. Mounting needs root (as on CI); elsewhere `mounted` is false and the test should be
 * skipped, which the run then shows.
 */
export function smallDisk(parent: string, size: string): { path: string; mounted: boolean } {
  const path = join(parent, `small-disk-${size}`);
  mkdirSync(path, { recursive: true });
  const mounted = process.platform === 'linux' && spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [path]);
  });
  return { path, mounted };
}
