import { defineConfig } from 'vitest/config';
import projects from './vitest.workspace.ts';

export default defineConfig({
  test: {
    projects,
    // Several projects load tfjs-wasm; two cores are all we have.
    maxWorkers: 2,
    // Every skipped test with its reason, then vitest's own output and summary.
    reporters: ['./packages/testing/src/skips-reporter.ts', 'default'],
  },
});
