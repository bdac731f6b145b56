// The run directory: config.resolved.yaml, metrics.jsonl, rollouts.jsonl, warnings.jsonl, checkpoints/, eval.json.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  accessSync,
  constants,
  readdirSync,
  readFileSync,
  statfsSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import YAML from 'yaml';
import { writeFileAtomic } from '@rmt/core';
import type { RunConfig } from './config.js';

export class RunDirectory {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
    makeDirectory(this.dir);
    // Fail before training, not at the first checkpoint, when the folder cannot be written.
    try {
      accessSync(this.dir, constants.W_OK);
    } catch (error) {
      throw new Error(`${this.dir}: the output folder is not writable`, { cause: error });
    }
  }

  /** A path inside the run directory. Every output goes through here, so none can land outside it. */
  path(name: string): string {
    const full = resolve(this.dir, name);
    const inside = relative(this.dir, full);
    if (isAbsolute(name) || inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new Error(`${this.dir}: refusing to write '${name}', which is not inside the run directory`);
    }
    return full;
  }

  /** Refuse to start when the disk cannot hold what the run will write (known before training starts). */
  ensureFreeSpace(bytes: number, what: string): void {
    const { bavail, bsize } = statfsSync(this.dir);
    const free = Number(bavail) * Number(bsize);
    const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
    if (free < bytes)
      throw new Error(
        `${this.dir}: ${mb(free)} free on its disk, but ${what} need about ${mb(bytes)}; free some space or choose another --out`,
      );
  }

  get checkpoints(): string {
    return this.path('checkpoints');
  }

  hasCheckpoints(): boolean {
    return existsSync(this.checkpoints) && readdirSync(this.checkpoints).some((n) => /^step-\d+$/.test(n));
  }

  /** True when the folder has no resolved config yet, or the same one (the `# resolved from` line aside). */
  holdsConfig(config: RunConfig): boolean {
    const file = this.path('config.resolved.yaml');
    if (!existsSync(file)) return true;
    return readFileSync(file, 'utf8').replace(/^#.*\n/, '') === YAML.stringify(config);
  }

  /** The resolved config, headed by the command that made the folder (`rmt resume` checks it). */
  async writeConfig(config: RunConfig, sources: string[], kind: string): Promise<void> {
    await writeFileAtomic(
      this.path('config.resolved.yaml'),
      `# rmt ${kind}; resolved from: ${sources.join(' + ')}\n${YAML.stringify(config)}`,
    );
  }

  /** The command that made this folder (`run`, `compare`, …); undefined for folders written before it was recorded. */
  kind(): string | undefined {
    const file = this.path('config.resolved.yaml');
    if (!existsSync(file)) return undefined;
    return /^# rmt (\S+);/.exec(readFileSync(file, 'utf8'))?.[1];
  }

  appendMetrics(metrics: Record<string, number>): void {
    this.append('metrics.jsonl', `${JSON.stringify(metrics)}\n`);
  }

  /** A warning the run gave (zero-signal groups, clipped rollouts, skipped updates), for report.html. */
  appendWarning(step: number, message: string): void {
    this.append('warnings.jsonl', `${JSON.stringify({ step, message })}\n`);
  }

  /** Append to a log; a failure (disk full, say) names the file instead of Node's bare `ENOSPC: … write`. */
  private append(name: string, text: string): void {
    try {
      appendFileSync(this.path(name), text);
    } catch (error) {
      throw new Error(
        `${this.path(name)}: cannot append (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); checkpoints already written are kept`,
        { cause: error },
      );
    }
  }

  /**
   * After a resume from step N, drop what the interrupted run logged for steps ≥ N (they are re-run), so
   * the logs read as one uninterrupted run.
   */
  async truncateLogs(step: number): Promise<void> {
    for (const name of ['metrics.jsonl', 'rollouts.jsonl', 'warnings.jsonl']) {
      const file = this.path(name);
      if (!existsSync(file)) continue;
      const kept = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => {
          if (line.trim() === '') return false;
          try {
            return (JSON.parse(line) as { step?: number }).step! < step;
          } catch {
            return false; // a line torn by a kill
          }
        });
      await writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
    }
  }

  appendRollouts(records: Record<string, unknown>[]): void {
    if (records.length > 0) this.append('rollouts.jsonl', records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  async writeJson(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`);
  }
}

/**
 * `mkdir -p` one level at a time, so that every failure names the folder and the reason. (Node's recursive
 * mkdirSync retries forever on a pseudo-filesystem such as /proc, which answers ENOENT to every mkdir.)
 */
function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' || code === 'EROFS' || code === 'EACCES' || code === 'EPERM'
          ? `${dirname(d)} does not accept new folders`
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? `${dirname(d)} is not a folder`
            : (code ?? (error as Error).message);
      throw new Error(`${dir}: cannot create the output folder (${why}; ${code ?? 'error'})`, { cause: error });
    }
  }
}

export function defaultRunDir(kind: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return join('runs', `${stamp}-${kind}`);
}
