/** The `rmt` command: composes the RMT packages into full runs. */
import { Command, CommanderError } from 'commander';
import { loadBackend, type BackendRequest } from '@rmt/backend';
import { backendReport, formatInfo } from './info.js';
import { generateCommand, scoreCommand } from './model-commands.js';

export { backendReport, formatInfo, type InfoReport } from './info.js';

export function createProgram(): Command {
  const program = new Command('rmt')
    .description('Reinforcement mid-training of language models')
    .showHelpAfterError()
    .exitOverride()
    .option('--backend <name>', 'tensorflow-gpu | tensorflow | wasm | cpu | auto', 'auto');

  const useBackend = async () => {
    const info = await loadBackend(program.opts<{ backend: BackendRequest }>().backend);
    return info;
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

/** Run the command line and return the exit code (errors print one clear line, no stack). */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    process.stderr.write(`rmt: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
