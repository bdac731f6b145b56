// What every `rmt` command shares: the run options, number parsers, and how a command gets its config.
import type { Command } from 'commander';
import type { BackendRequest } from '@rmt/backend';
import { resolveConfig, type RunConfig } from '../config.js';

export interface RunOptions {
  preset?: string;
  config?: string;
  out?: string;
  set: string[];
  quiet?: boolean;
  json?: boolean;
}

/** What a command needs from the program: the global --backend flag, and configs resolved with it. */
export interface CommandContext {
  backend(): BackendRequest | undefined;
  /** Preset (the command's own unless --preset) → --config file → --set, with --backend applied last. */
  configFrom(opts: RunOptions, fallbackPreset: string): { config: RunConfig; sources: string[] };
}

export function commandContext(program: Command): CommandContext {
  const backend = () => program.opts<{ backend?: BackendRequest }>().backend;
  return {
    backend,
    configFrom: (opts, fallbackPreset) => {
      const b = backend();
      return resolveConfig({
        preset: opts.preset ?? fallbackPreset,
        config: opts.config,
        set: [...opts.set, ...(b ? [`backend=${b}`] : [])],
      });
    },
  };
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function withRunOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', 'default | quick | tiny | base')
    .option(
      '--config <file>',
      'YAML or JSON config, merged over the preset; relative paths in it are read from its folder',
    )
    .option('--out <dir>', 'run directory (default: runs/<time>-<kind>)')
    .option('--set <key=value>', 'override one config field, e.g. midtrain.steps=50 (repeatable)', collect, [])
    .option('--quiet', 'print only the result')
    .option('--json', 'print the result as JSON');
}

export const int = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${value}'`);
  return n;
};

export const num = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${value}'`);
  return n;
};
