// `rmt pretrain` and `rmt posttrain`: the stages around mid-training.
import type { Command } from 'commander';
import { pct } from '../format.js';
import { defaultRunDir, RunDirectory } from '../output.js';
import { createReporter } from '../progress.js';
import { basePath, runPosttrain, runPretrain } from '../run.js';
import { int, withRunOptions, type CommandContext, type RunOptions } from './options.js';

export function registerStageCommands(program: Command, ctx: CommandContext): void {
  withRunOptions(
    program
      .command('pretrain')
      .description('Pretrain a model on the synthetic pretraining mix (the embedded base: --preset base)'),
  ).action(async (opts: RunOptions) => {
    const { config, sources } = ctx.configFrom(opts, 'base');
    const out = new RunDirectory(opts.out ?? defaultRunDir('pretrain'));
    await out.writeConfig(config, sources, 'pretrain');
    const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'pretrain' });
    const result = await runPretrain(config, out, { quiet: !!opts.quiet, json: !!opts.json }, reporter);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (opts.quiet) process.stdout.write(`${result.dir}\n`);
  });

  withRunOptions(
    program
      .command('posttrain')
      .description('GRPO on the verifiable task from a checkpoint; accuracy before and after'),
  )
    .option('--model <path>', "checkpoint to post-train (default: the config's base)")
    .option(
      '--budget <n>',
      'budget told in the prompts (for a budget-trained checkpoint: its final budget)',
      int('budget'),
    )
    .option('--task <name>', 'synthetic | gsm8k | math500 (sets posttrain.task)')
    .option('--task-file <file>', 'JSONL of the gsm8k or math500 problems (sets posttrain.taskFile)')
    .action(async (opts: RunOptions & { model?: string; budget?: number; task?: string; taskFile?: string }) => {
      const sets = [
        ...(opts.task ? [`posttrain.task=${opts.task}`] : []),
        ...(opts.taskFile ? [`posttrain.taskFile=${opts.taskFile}`] : []),
      ];
      const { config, sources } = ctx.configFrom({ ...opts, set: [...opts.set, ...sets] }, 'default');
      const out = new RunDirectory(opts.out ?? defaultRunDir('posttrain'));
      await out.writeConfig(config, sources, 'posttrain');
      const reporter = createReporter({ quiet: !!opts.quiet, json: !!opts.json, label: 'posttrain' });
      const result = await runPosttrain(config, opts.model ?? basePath(config), out, reporter, opts.budget);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(result)}\n`
          : `post-training accuracy: before ${pct(result.before.accuracy)} (len ${result.before.meanLength.toFixed(1)}), after ${pct(result.after.accuracy)} (len ${result.after.meanLength.toFixed(1)}) on ${result.after.problems} held-out problems\n`,
      );
    });
}
