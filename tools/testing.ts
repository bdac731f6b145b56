// Test helpers shared by every package's tests (resolved as `@rmt/testing` by vitest.shared.ts).
import { describe, beforeAll } from 'vitest';
import { availableBackends, loadBackend, type BackendName } from '@rmt/backend';
import { existsSync } from 'node:fs';
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
