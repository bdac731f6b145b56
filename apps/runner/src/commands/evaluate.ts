// `rmt eval`, `rmt compare` and `rmt report`: measuring checkpoints and methods.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { parseSweep, runCompare, runSweep, resultsMarkdown, sweepMarkdown } from '../compare.js';
import { defaultRunDir, RunDirectory } from '../output.js';
import { createReporter } from '../progress.js';
import { writeRunReport } from '../report.js';
import { runEval } from '../run.js';
import { comparisonTable } from '../table.js';
import { int, withRunOptions, type CommandContext, type RunOptions } from './options.js';

export function registerEvaluationCommands(program: Command, ctx: CommandContext): void {
  withRunOptions(
    program.command('eval').description("Evaluate a checkpoint on held-out sites split by the base model's entropy"),
  )
    .requiredOption('--model <path>', 'checkpoint, Hugging Face folder or llama2.c .bin')
    .option('--base <path>', 'model whose entropy splits the sites (default: --model itself)')
    .option('--no-reasoning', 'next-token (NTP) mode only, e.g. for models that cannot reason')
    .option(
      '--budget <n>',
      'budget told in reasoning prompts (default: the budget a mid-trained checkpoint was trained to)',
      int('budget'),
    )
    .action(async (opts: RunOptions & { model: string; base?: string; reasoning: boolean; budget?: number }) => {
      const { config, sources } = ctx.configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir('eval'));
      await out.writeConfig(config, sources, 'eval');
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'eval' });
      const result = await runEval(
        config,
        opts.model,
        out,
        { base: opts.base, reasoning: opts.reasoning, budget: opts.budget },
        reporter,
      );
      process.stdout.write(
        opts.json ? `${JSON.stringify(result)}\n` : `${comparisonTable([{ name: 'model', result }])}\n`,
      );
    });

  withRunOptions(
    program
      .command('compare')
      .description(
        'Base, NTP, RPT, RMT and the three ablations from the same base, each post-trained; results.json + results.md',
      ),
  )
    .option('--seeds <n>', 'number of seeds (0, 1, …; default 3, or 1 with --quick)', int('seeds'))
    .option('--quick', 'a first look in minutes: the quick preset and one seed')
    .option(
      '--sweep <key=v1,v2>',
      'run the comparison for each value of a config knob (repeat for a grid), e.g. data.synthetic.overthink=wrong,redundant; one claims table per setting and a summary',
      (v: string, acc: string[] = []) => [...acc, v],
    )
    .option(
      '--curve-every <n>',
      'learning curves: evaluate a checkpoint every n steps (default: a tenth of the steps)',
      int('curve-every'),
    )
    .action(async (opts: RunOptions & { seeds?: number; quick?: boolean; sweep?: string[]; curveEvery?: number }) => {
      if (opts.quick && opts.preset && opts.preset !== 'quick')
        throw new Error(`--quick and --preset ${opts.preset} contradict each other`);
      if (opts.quick) opts.preset = 'quick';
      opts.seeds ??= opts.quick ? 1 : 3;
      const sweep = (opts.sweep ?? []).map(parseSweep);
      const { config, sources } = ctx.configFrom(opts, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir(sweep.length ? 'sweep' : 'compare'));
      // Rerunning into the same folder continues that comparison; it must be the same comparison.
      if (!out.holdsConfig(config))
        throw new Error(`${out.dir} holds a comparison with another config; choose another --out`);
      const sweepFile = out.path('sweep.json');
      if (existsSync(sweepFile) && readFileSync(sweepFile, 'utf8') !== `${JSON.stringify(sweep, null, 2)}\n`)
        throw new Error(`${out.dir} holds a sweep over other settings; choose another --out`);
      await out.writeConfig(config, sources, 'compare');
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'compare' });
      const seeds = Array.from({ length: Math.max(1, opts.seeds) }, (_, i) => config.seed + i);
      if (sweep.length > 0) {
        await out.writeJson('sweep.json', sweep);
        const results = await runSweep(config, sweep, seeds, out, reporter, { curveEvery: opts.curveEvery });
        process.stdout.write(
          opts.json ? `${JSON.stringify(results)}\n` : `${sweepMarkdown(results)}\nwritten to ${out.dir}\n`,
        );
        return;
      }
      const results = await runCompare(config, seeds, out, reporter, { curveEvery: opts.curveEvery });
      process.stdout.write(
        opts.json ? `${JSON.stringify(results)}\n` : `${resultsMarkdown(results)}\nwritten to ${out.dir}\n`,
      );
    });

  program
    .command('report <dir>')
    .description('Write report.html (training curves and result tables) for a run directory')
    .action(async (dir: string) => {
      process.stdout.write(`${await writeRunReport(dir)}\n`);
    });
}
