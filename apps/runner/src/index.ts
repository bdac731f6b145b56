/** The `rmt` command: composes the RMT packages into full runs. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { loadBackend, type BackendRequest } from '@rmt/backend';
import { backendReport, formatInfo } from './info.js';
import { generateCommand, scoreCommand } from './model-commands.js';
import { configJsonSchema, resolveConfig, type RunConfig } from './config.js';
import { defaultRunDir, RunDirectory } from './output.js';
import { createReporter } from './progress.js';
import { basePath, readRunConfig, runEval, runMidtrain, runPosttrain, runPretrain } from './run.js';
import { comparisonTable } from './table.js';
import { runCompare, resultsMarkdown } from './compare.js';
import { writeRunReport } from './report.js';

export { backendReport, formatInfo, type InfoReport } from './info.js';
export { configJsonSchema, merge, parseSet, resolveConfig, runConfigSchema, validateConfig, type RunConfig } from './config.js';
export { runMidtrain, runPretrain, type MidtrainOutcome, type RunFlags } from './run.js';
export type { Reporter } from './progress.js';
export { RunDirectory } from './output.js';

/** The runner's own version, read from its package.json (dist/ sits beside it in the package). */
function runnerVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

interface RunOptions {
  preset?: string;
  config?: string;
  out?: string;
  set: string[];
  quiet?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function withRunOptions(cmd: Command): Command {
  return cmd
    .option('--preset <name>', 'default | quick | tiny | base')
    .option('--config <file>', 'YAML or JSON config (merged over the preset)')
    .option('--out <dir>', 'run directory (default: runs/<time>-<kind>)')
    .option('--set <key=value>', 'override one config field, e.g. midtrain.steps=50 (repeatable)', collect, [])
    .option('--quiet', 'print only the result')
    .option('--json', 'print the result as JSON');
}

/** SIGINT/SIGTERM: finish the current step, write a checkpoint, exit 0 with a message saying how to resume. */
function stopOnSignal(): { shouldStop: () => boolean; dispose: () => void } {
  let stop = false;
  const handler = (signal: string) => {
    if (stop) process.exit(130); // a second signal: stop now
    stop = true;
    process.stderr.write(`\n${signal}: finishing the current step and writing a checkpoint (send again to abort)\n`);
  };
  const onInt = () => handler('SIGINT');
  const onTerm = () => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return { shouldStop: () => stop, dispose: () => (process.off('SIGINT', onInt), process.off('SIGTERM', onTerm)) };
}

async function midtrainAndReport(config: RunConfig, sources: string[], out: RunDirectory, opts: RunOptions, label: string, resume: boolean) {
  const flags = { quiet: !!opts.quiet, json: !!opts.json };
  const reporter = createReporter({ ...flags, label });
  if (!resume) {
    // Never overwrite another run's checkpoints; a folder left by a run killed before its first checkpoint
    // is simply started again.
    if (out.hasCheckpoints()) throw new Error(`${out.dir} already holds checkpoints of a run; continue it with \`rmt resume ${out.dir}\` or choose another --out`);
    await out.truncateLogs(0);
    await out.writeConfig(config, sources);
  }
  const signals = stopOnSignal();
  try {
    const outcome = await runMidtrain(config, out, { ...flags, resume, evaluateBase: true, shouldStop: signals.shouldStop }, reporter);
    if (outcome.stopped || !outcome.trained) {
      process.stderr.write(`stopped after step ${outcome.steps}; continue with: rmt resume ${out.dir}\n`);
      return;
    }
    const trained = outcome.trained;
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ dir: out.dir, seconds: outcome.seconds, base: outcome.base ?? null, trained })}\n`);
      return;
    }
    const rows = [...(outcome.base ? [{ name: 'base', result: outcome.base }] : []), { name: config.midtrain.method, result: trained }];
    process.stdout.write(`\n${comparisonTable(rows)}\n`);
    process.stdout.write(`${config.midtrain.method} evaluated with budget ${outcome.finalBudget ?? 'none'}; run directory ${out.dir} (${outcome.seconds.toFixed(0)} s)\n`);
    if (!opts.quiet) process.stdout.write(`report: ${await writeRunReport(out.dir)}\n`);
  } finally {
    signals.dispose();
  }
}

export function createProgram(): Command {
  const program = new Command('rmt')
    .description('Reinforcement mid-training of language models')
    .version(runnerVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .option('--backend <name>', 'tensorflow-gpu | tensorflow | wasm | cpu | auto (overrides the config)');

  const backendFlag = () => program.opts<{ backend?: BackendRequest }>().backend;
  const useBackend = async () => loadBackend(backendFlag() ?? 'auto');
  const configFrom = (opts: RunOptions, fallbackPreset?: string) => {
    const sets = [...opts.set, ...(backendFlag() ? [`backend=${backendFlag()}`] : [])];
    return resolveConfig({ preset: opts.preset ?? (opts.config ? undefined : fallbackPreset), config: opts.config, set: sets });
  };
  const int = (name: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${value}'`);
    return n;
  };
  const num = (name: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got '${value}'`);
    return n;
  };

  program
    .command('info')
    .description('List the TensorFlow.js backends found and the one `auto` picks')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const report = await backendReport();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
    });

  withRunOptions(program.command('run').description('The main job: mid-train the base with RMT on the corpus, then evaluate it against the base')).action(async (opts: RunOptions) => {
    const { config, sources } = configFrom(opts, 'default');
    await midtrainAndReport(config, sources, new RunDirectory(opts.out ?? defaultRunDir(config.midtrain.method)), opts, 'run', false);
  });

  withRunOptions(program.command('midtrain').description('Mid-train (midtrain.method: rmt | rpt | ntp) and evaluate against the base')).action(async (opts: RunOptions) => {
    const { config, sources } = configFrom(opts, 'default');
    await midtrainAndReport(config, sources, new RunDirectory(opts.out ?? defaultRunDir(config.midtrain.method)), opts, 'midtrain', false);
  });

  program
    .command('resume <dir>')
    .description('Continue an interrupted run from its newest checkpoint')
    .option('--quiet', 'print only the result')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, opts: { quiet?: boolean; json?: boolean }) => {
      const out = new RunDirectory(dir);
      if (!out.hasCheckpoints()) throw new Error(`${dir}: no checkpoint to resume from`);
      const config = await readRunConfig(dir);
      await midtrainAndReport(config, [], out, { ...opts, set: [] }, 'resume', true);
    });

  withRunOptions(program.command('pretrain').description('Pretrain a model on the synthetic pretraining mix (the embedded base: --preset base)')).action(async (opts: RunOptions) => {
    const { config, sources } = configFrom(opts, 'base');
    const out = new RunDirectory(opts.out ?? defaultRunDir('pretrain'));
    await out.writeConfig(config, sources);
    const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'pretrain' });
    const result = await runPretrain(config, out, { quiet: !!opts.quiet, json: !!opts.json }, reporter);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (opts.quiet) process.stdout.write(`${result.dir}\n`);
  });

  withRunOptions(program.command('posttrain').description('GRPO on the verifiable task from a checkpoint; accuracy before and after'))
    .option('--model <path>', 'checkpoint to post-train (default: the config\'s base)')
    .option('--budget <n>', 'budget told in the prompts (for a budget-trained checkpoint: its final budget)', int('budget'))
    .action(async (opts: RunOptions & { model?: string; budget?: number }) => {
      const { config, sources } = configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir('posttrain'));
      await out.writeConfig(config, sources);
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'posttrain' });
      const result = await runPosttrain(config, opts.model ?? basePath(config), out, reporter, opts.budget);
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result)}\n`
          : `post-training accuracy: before ${pct(result.before.accuracy)} (len ${result.before.meanLength.toFixed(1)}), after ${pct(result.after.accuracy)} (len ${result.after.meanLength.toFixed(1)}) on ${result.after.problems} held-out problems\n`,
      );
    });

  withRunOptions(program.command('eval').description("Evaluate a checkpoint on held-out sites split by the base model's entropy"))
    .requiredOption('--model <path>', 'checkpoint, Hugging Face folder or llama2.c .bin')
    .option('--base <path>', 'model whose entropy splits the sites (default: --model itself)')
    .option('--no-reasoning', 'next-token (NTP) mode only, e.g. for models that cannot reason')
    .option('--budget <n>', 'budget told in reasoning prompts', int('budget'))
    .action(async (opts: RunOptions & { model: string; base?: string; reasoning: boolean; budget?: number }) => {
      const { config, sources } = configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir('eval'));
      await out.writeConfig(config, sources);
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'eval' });
      const result = await runEval(config, opts.model, out, { base: opts.base, reasoning: opts.reasoning, budget: opts.budget }, reporter);
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${comparisonTable([{ name: 'model', result }])}\n`);
    });

  withRunOptions(program.command('compare').description('Base, NTP, RPT, RMT and the three ablations from the same base, each post-trained; results.json + results.md'))
    .option('--seeds <n>', 'number of seeds (0, 1, …; default 3, or 1 with --quick)', int('seeds'))
    .option('--quick', 'a first look in minutes: the quick preset and one seed')
    .action(async (opts: RunOptions & { seeds?: number; quick?: boolean }) => {
      if (opts.quick && opts.preset && opts.preset !== 'quick') throw new Error(`--quick and --preset ${opts.preset} contradict each other`);
      if (opts.quick) opts.preset = 'quick';
      opts.seeds ??= opts.quick ? 1 : 3;
      const { config, sources } = configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir('compare'));
      // Rerunning into the same folder continues that comparison; it must be the same comparison.
      if (!out.holdsConfig(config)) throw new Error(`${out.dir} holds a comparison with another config; choose another --out`);
      await out.writeConfig(config, sources);
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'compare' });
      const results = await runCompare(config, Array.from({ length: Math.max(1, opts.seeds) }, (_, i) => config.seed + i), out, reporter);
      process.stdout.write(opts.json ? `${JSON.stringify(results)}\n` : `${resultsMarkdown(results)}\nwritten to ${out.dir}\n`);
    });

  program
    .command('report <dir>')
    .description('Write report.html (training curves and result tables) for a run directory')
    .action(async (dir: string) => {
      process.stdout.write(`${await writeRunReport(dir)}\n`);
    });

  const configCmd = program.command('config').description('Configuration helpers');
  configCmd
    .command('schema')
    .description('Print the JSON Schema of the run configuration')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  withRunOptions(configCmd.command('show').description('Print the resolved configuration (preset + file + --set)')).action(async (opts: RunOptions) => {
    const { config } = configFrom(opts, 'default');
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  });

  program
    .command('generate')
    .description('Generate text from a model (llama2.c .bin, Hugging Face folder or RMT checkpoint)')
    .requiredOption('--model <path>', 'model file or folder')
    .option('--tokenizer <path>', 'tokenizer (tok*.bin, tokenizer.json or a checkpoint folder); default: beside the model')
    .requiredOption('--prompt <text>', 'prompt text (BOS is prepended)')
    .option('--max-tokens <n>', 'most new tokens', int('max-tokens'), 128)
    .option('--greedy', 'argmax decoding (default: sampling)')
    .option('--temperature <t>', 'sampling temperature', num('temperature'), 1)
    .option('--top-k <k>', 'sample from the k most likely tokens', int('top-k'))
    .option('--top-p <p>', 'nucleus sampling threshold', num('top-p'))
    .option('--seed <n>', 'sampling seed', int('seed'), 0)
    .option('--json', 'print JSON')
    .action(async (opts) => {
      await useBackend();
      const result = await generateCommand(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${result.text}\n`);
    });

  program
    .command('score')
    .description('Next-token top-1 accuracy, loss and entropy of a model on a text file')
    .requiredOption('--model <path>', 'model file or folder')
    .option('--tokenizer <path>', 'tokenizer; default: beside the model')
    .requiredOption('--text <file>', 'text file to score')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      await useBackend();
      const score = await scoreCommand(opts);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(score)}\n`
          : `tokens ${score.tokens}  top-1 ${(100 * score.top1).toFixed(2)}%  loss ${score.loss.toFixed(4)} nats  entropy ${score.entropy.toFixed(4)} nats\n`,
      );
    });

  return program;
}

/** Run the command line and return the exit code (errors print one clear message, no stack). */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    // One line for users; the stack with RMT_DEBUG=1 (for bug reports).
    const detail = process.env.RMT_DEBUG && error instanceof Error ? (error.stack ?? error.message) : error instanceof Error ? error.message : String(error);
    process.stderr.write(`rmt: ${detail}\n`);
    return 1;
  }
}
