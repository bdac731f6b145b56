/** The `rmt` command: composes the RMT packages into full runs. One file per group of commands in commands/. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { BACKEND_NAMES } from '@rmt/backend';
import { commandContext } from './commands/options.js';
import { registerEvaluationCommands } from './commands/evaluate.js';
import { registerMidtrainCommands } from './commands/midtrain.js';
import { registerStageCommands } from './commands/pretrain.js';
import { registerToolCommands } from './commands/tools.js';
import { registerServeCommands } from './commands/serve.js';

export { backendReport, formatInfo, type InfoReport } from './info.js';
export {
  configJsonSchema,
  merge,
  parseSet,
  resolveConfig,
  runConfigSchema,
  validateConfig,
  type RunConfig,
} from './config.js';
export { runMidtrain, runPretrain, type MidtrainOutcome, type RunFlags } from './run.js';
export type { Phase, Reporter } from './progress.js';
export { RunDirectory } from './output.js';

/** The runner's own version, read from its package.json (dist/ sits beside it in the package). */
function runnerVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export function createProgram(): Command {
  const program = new Command('rmt')
    .description('Reinforcement mid-training of language models')
    .version(runnerVersion(), '-V, --version')
    .showHelpAfterError()
    .exitOverride()
    .option('--backend <name>', `${[...BACKEND_NAMES, 'auto'].join(' | ')} (overrides the config)`);
  const ctx = commandContext(program);
  registerMidtrainCommands(program, ctx);
  registerStageCommands(program, ctx);
  registerEvaluationCommands(program, ctx);
  registerToolCommands(program, ctx);
  registerServeCommands(program, ctx);
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
    const detail =
      process.env.RMT_DEBUG && error instanceof Error
        ? (error.stack ?? error.message)
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`rmt: ${detail}\n`);
    return 1;
  }
}
