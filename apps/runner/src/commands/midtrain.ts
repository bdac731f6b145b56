// `rmt run`, `rmt midtrain` and `rmt resume`: mid-train, evaluate against the base, write the report.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { RunConfig } from '../config.js';
import { defaultRunDir, RunDirectory } from '../output.js';
import { createReporter } from '../progress.js';
import { readRunConfig, runMidtrain } from '../run.js';
import { comparisonTable } from '../table.js';
import { writeRunReport } from '../report.js';
import { withRunOptions, type CommandContext, type RunOptions } from './options.js';

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

/**
 * How a run starts: `fresh` in an empty folder; `resume` from the newest checkpoint; `restart` of a run killed
 * before its first checkpoint, from its saved config, reusing what it cached (scores, the base evaluation).
 */
type Start = 'fresh' | 'resume' | 'restart';

async function midtrainAndReport(
  config: RunConfig,
  sources: string[],
  out: RunDirectory,
  opts: Omit<RunOptions, 'set'>,
  label: string,
  start: Start,
) {
  const flags = { quiet: !!opts.quiet, json: !!opts.json };
  const reporter = createReporter({ ...flags, label });
  if (start === 'fresh') {
    // Never overwrite another run's checkpoints; a folder left by a run killed before its first checkpoint
    // is simply started again.
    if (out.hasCheckpoints())
      throw new Error(
        `${out.dir} already holds checkpoints of a run; continue it with \`rmt resume ${out.dir}\` or choose another --out`,
      );
    await out.writeConfig(config, sources, label);
  }
  if (start !== 'resume') await out.truncateLogs(0);
  const signals = stopOnSignal();
  try {
    const outcome = await runMidtrain(
      config,
      out,
      { ...flags, resume: start !== 'fresh', evaluateBase: true, shouldStop: signals.shouldStop },
      reporter,
    ).catch(async (error: unknown) => {
      // A run that stopped (preflight, no learning signal, divergence, a lost engine) still gets its report:
      // the page that says why.
      await writeRunReport(out.dir).catch(() => undefined);
      throw error;
    });
    if (outcome.stopped || !outcome.trained) {
      await writeRunReport(out.dir);
      process.stderr.write(`stopped after step ${outcome.steps}; continue with: rmt resume ${out.dir}\n`);
      return;
    }
    // The report is written for every finished run (--quiet and --json too); only its path is not printed.
    const report = await writeRunReport(out.dir);
    const trained = outcome.trained;
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ dir: out.dir, seconds: outcome.seconds, base: outcome.base ?? null, trained, report })}\n`,
      );
      return;
    }
    const rows = [
      ...(outcome.base ? [{ name: 'base', result: outcome.base }] : []),
      { name: config.midtrain.method, result: trained },
    ];
    process.stdout.write(`\n${comparisonTable(rows)}\n`);
    process.stdout.write(
      `${config.midtrain.method} evaluated with budget ${outcome.finalBudget ?? 'none'}; run directory ${out.dir} (${outcome.seconds.toFixed(0)} s)\n`,
    );
    if (!opts.quiet) process.stdout.write(`report: ${report}\n`);
  } finally {
    signals.dispose();
  }
}

/** The kinds of run `rmt resume` continues: those whose folder holds a mid-training run. */
const RESUMABLE = ['run', 'midtrain'];

export function registerMidtrainCommands(program: Command, ctx: CommandContext): void {
  // `rmt run` is the main job (RMT by default); `rmt midtrain` is the same run under its stage's name.
  const fresh = {
    run: 'The main job: mid-train the base with RMT on the corpus, then evaluate it against the base',
    midtrain: 'Mid-train (midtrain.method: rmt | rpt | ntp) and evaluate against the base',
  };
  for (const [name, description] of Object.entries(fresh)) {
    withRunOptions(program.command(name).description(description)).action(async (opts: RunOptions) => {
      const { config, sources } = ctx.configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir(config.midtrain.method));
      await midtrainAndReport(config, sources, out, opts, name, 'fresh');
    });
  }

  program
    .command('resume <dir>')
    .description(
      'Continue an interrupted run from its newest checkpoint (or, killed before its first one, start it over from its saved config)',
    )
    .option('--quiet', 'print only the result')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, opts: { quiet?: boolean; json?: boolean }) => {
      if (!existsSync(dir)) throw new Error(`${dir}: no such run directory`);
      const config = await readRunConfig(dir);
      const out = new RunDirectory(dir);
      const kind = out.kind();
      if (kind !== undefined && !RESUMABLE.includes(kind)) {
        const hint =
          kind === 'compare'
            ? '; to continue a comparison, run `rmt compare` again with the same config and --out'
            : '';
        throw new Error(
          `${dir}: a run of \`rmt ${kind}\`; \`rmt resume\` continues mid-training runs (rmt run, rmt midtrain)${hint}`,
        );
      }
      const start = out.hasCheckpoints() ? 'resume' : 'restart';
      if (start === 'restart' && !opts.quiet && !opts.json) {
        process.stderr.write(
          `${dir}: no checkpoint yet (the run was stopped before its first one); starting it over from its saved config, reusing what it cached\n`,
        );
      }
      await midtrainAndReport(config, [], out, opts, 'resume', start);
    });
}
