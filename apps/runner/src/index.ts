/** The `rmt` command: composes the RMT packages into full runs. */
import { Command, CommanderError } from 'commander';
import { backendReport, formatInfo } from './info.js';

export { backendReport, formatInfo, type InfoReport } from './info.js';

export function createProgram(): Command {
  const program = new Command('rmt')
    .description('Reinforcement mid-training of language models')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('info')
    .description('List the TensorFlow.js backends found and the one `auto` picks')
    .option('--json', 'print JSON instead of a table')
    .action(async (opts: { json?: boolean }) => {
      const report = await backendReport();
      process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatInfo(report)}\n`);
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
