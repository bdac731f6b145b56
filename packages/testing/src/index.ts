// @rmt/testing: test helpers shared by every package's tests (private, never published). vitest resolves
// it from this source (tools/vitest.shared.ts), so tests need no build of it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { BACKEND_NAMES, loadBackend, probeBackends, type BackendName } from '@rmt/backend';

/** Why a backend cannot run here (its probe's reason, without the install hint), or undefined when it can. */
const unavailable = new Map(
  (await probeBackends()).filter((p) => !p.available).map((p) => [p.name, p.reason.replace(/; install it .*$/, '')]),
);
// CI installs a Vulkan driver (.ci/run): there the webgpu suites must run, not skip with a reason.
if (process.env.RMT_REQUIRE_WEBGPU === '1' && unavailable.has('webgpu'))
  throw new Error(`RMT_REQUIRE_WEBGPU=1 but webgpu is not available: ${unavailable.get('webgpu')}`);

/**
 * `describe(name, suite)`, or, when `skip` gives a reason, a single skipped test titled
 * `name — skipped: reason` in its place: the run's output says what it did not cover and why, once.
 */
export function describeOrSkip(name: string, skip: string | undefined, suite: () => void): void {
  if (skip === undefined) describe(name, suite);
  else it.skip(`${name} — skipped: ${skip}`, () => {});
}

/** `it(name, test)`, or, when `skip` gives a reason, the same test skipped under `name (skipped: reason)`. */
export function itOrSkip(name: string, skip: string | undefined, test: () => unknown, timeout?: number): void {
  if (skip === undefined) it(name, test, timeout);
  else it.skip(`${name} (skipped: ${skip})`, test);
}

/**
 * Run the same suite once per backend present in this process (cpu and wasm always; the native ones when
 * installed; webgpu when Dawn finds an adapter — in CI lavapipe, a software Vulkan device). An absent backend shows as one skipped entry, `name [backend] — skipped: why`, so a run says
 * what it did not cover. Backends left out by `only` are not registered at all.
 */
export function describeEachBackend(name: string, suite: (backend: BackendName) => void, only?: BackendName[]): void {
  for (const backend of BACKEND_NAMES) {
    if (only !== undefined && !only.includes(backend)) continue;
    describeOrSkip(`${name} [${backend}]`, unavailable.get(backend), () => {
      beforeAll(async () => {
        await loadBackend(backend);
      });
      suite(backend);
    });
  }
}

/**
 * The real data some tests read, which is never copied into the repository: `$RMT_SHARED_DATA`, else the
 * folder `shared/data` beside the repository root. Tests reach it only through {@link sharedData}.
 */
const sharedDataDir = (() => {
  const fromEnv = process.env.RMT_SHARED_DATA;
  if (fromEnv) return isAbsolute(fromEnv) ? fromEnv : resolve(fromEnv);
  return fileURLToPath(new URL('../../../../shared/data/', import.meta.url));
})();

/** A path inside the shared test data folder (see {@link sharedDataSkip} for whether it is there). */
export function sharedData(relPath = ''): string {
  return join(sharedDataDir, relPath);
}

/** Why tests on the shared data cannot run here, or undefined when the folder exists. */
export const sharedDataSkip: string | undefined = existsSync(sharedDataDir)
  ? undefined
  : `shared test data not found at ${sharedDataDir} (set RMT_SHARED_DATA)`;

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
  const EXTREME_TEXT = [
    '-1',
    '0',
    '1e308',
    '-1e308',
    '99999999999999999999',
    'NaN',
    '1.5',
    '"x"',
    'null',
    '[]',
    '{}',
    'true',
    '.inf',
  ];
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
        b = Buffer.concat([
          b.subarray(0, at),
          Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256))),
          b.subarray(at),
        ]);
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
        b = Buffer.from(
          text.slice(0, m.index) + EXTREME_TEXT[int(EXTREME_TEXT.length)] + text.slice(m.index! + m[0].length),
          'latin1',
        );
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
export async function fuzzParser(
  good: Uint8Array,
  file: string,
  parse: (bytes: Uint8Array) => unknown,
  trials = 300,
  seed = 1,
): Promise<number> {
  let rejected = 0;
  let trial = 0;
  for (const bytes of mutations(good, trials, seed)) {
    try {
      await parse(bytes);
    } catch (error) {
      rejected++;
      if (!(error instanceof Error) || !error.message.includes(file)) {
        throw new Error(
          `mutation ${trial} (seed ${seed}) of ${file}: unclear error: ${String((error as Error)?.stack ?? error)}`,
          { cause: error },
        );
      }
    }
    trial++;
  }
  return rejected;
}

/**
 * A real small disk for disk-full tests: a tmpfs of `size` (e.g. '64k') mounted at a new folder, unmounted
 * after the suite. Mounting needs root (as on CI); elsewhere `mounted` is false and `skip` says why, for
 * {@link itOrSkip}: `itOrSkip('disk full …', disk.skip, async () => …)`.
 */
export function smallDisk(parent: string, size: string): { path: string; mounted: boolean; skip: string | undefined } {
  const path = join(parent, `small-disk-${size}`);
  mkdirSync(path, { recursive: true });
  const mounted =
    process.platform === 'linux' &&
    spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', path]).status === 0;
  afterAll(() => {
    if (mounted) spawnSync('umount', [path]);
  });
  return { path, mounted, skip: mounted ? undefined : `cannot mount a ${size} tmpfs (needs root on Linux, as on CI)` };
}

/** GPT-2's byte → printable-character table (byte-level BPE), written out independently of the tokenizers under test. */
export const GPT2_BYTE_CHARS: readonly string[] = (() => {
  const printable = new Set(
    [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174),
  );
  let extra = 0;
  return [...Array(256).keys()].map((b) => String.fromCharCode(printable.has(b) ? b : 256 + extra++));
})();

/** An `added_tokens` entry of a tokenizer.json. */
export const addedToken = (id: number, content: string, special: boolean) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special,
});

/**
 * A byte-level BPE tokenizer.json as GPT-2, Llama 3 and Qwen write it: ids 0–255 the bytes (GPT2_BYTE_CHARS),
 * then `pieces` (piece → id), the `merges` in rank order and the `added` tokens.
 */
export function byteLevelBpeJson(
  pieces: Record<string, number>,
  merges: string[],
  added: ReturnType<typeof addedToken>[],
) {
  return {
    version: '1.0',
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: { ...Object.fromEntries(GPT2_BYTE_CHARS.map((c, i) => [c, i])), ...pieces },
      merges,
    },
  };
}
