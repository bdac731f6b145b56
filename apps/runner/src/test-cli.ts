// For the runner's tests: run `rmt …` in this process and capture what it prints.
import { vi } from 'vitest';
import { runCli } from './index.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `rmt <args>` in process (the global flags, e.g. `--backend wasm`, go first in `args`). */
export async function captureCli(args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((c) => ((stdout += String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c) => ((stderr += String(c)), true));
  try {
    return { code: await runCli(['node', 'rmt', ...args]), stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}
