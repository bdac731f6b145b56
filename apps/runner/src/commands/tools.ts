// `rmt info`, `rmt config`, `rmt generate` and `rmt score`: the environment, the config, and a model alone.
import type { Command } from 'commander';
import { loadBackend } from '@rmt/backend';
import { configJsonSchema } from '../config.js';
import { backendReport, formatInfo } from '../info.js';
import { generateCommand, scoreCommand } from '../model-commands.js';
import { int, num, withRunOptions, type CommandContext, type RunOptions } from './options.js';

export function registerToolCommands(program: Command, ctx: CommandContext): void {
  const useBackend = async () => loadBackend(ctx.backend() ?? 'auto');

  program
    .command('info')
    .description('List the TensorFlow.js backends found and the one `auto` picks')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      // TensorFlow 2.16+ logs "oneDNN custom operations are on" through absl before its own log level applies
      // (TF_CPP_MIN_LOG_LEVEL does not reach it), and absl adds a line of its own: `rmt info` only probes, so it
      // turns oneDNN's custom ops off for the probe (measured: both lines gone; training runs keep oneDNN).
      process.env.TF_ENABLE_ONEDNN_OPTS ??= '0';
      const report = await backendReport();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
    });

  const configCmd = program.command('config').description('Configuration helpers');
  configCmd
    .command('schema')
    .description('Print the JSON Schema of the run configuration')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });
  withRunOptions(
    configCmd.command('show').description('Print the resolved configuration (preset + file + --set)'),
  ).action(async (opts: RunOptions) => {
    const { config } = ctx.configFrom(opts, 'default');
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
  });

  program
    .command('generate')
    .description('Generate text from a model (llama2.c .bin, Hugging Face folder or RMT checkpoint)')
    .requiredOption('--model <path>', 'model file or folder')
    .option(
      '--tokenizer <path>',
      'tokenizer (tok*.bin, tokenizer.json or a checkpoint folder); default: beside the model',
    )
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
}
