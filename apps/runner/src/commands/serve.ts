// `rmt serve`: an OpenAI-compatible inference server over RMT's own engine (vLLM's field names), so the
// engine path of mid-training (midtrain.rollout.engine: openai) runs against it without a GPU server.
import type { Command } from 'commander';
import { loadBackend } from '@rmt/backend';
import { startServer } from '@rmt/engine';
import { int, type CommandContext } from './options.js';

export function registerServeCommands(program: Command, ctx: CommandContext): void {
  program
    .command('serve')
    .description(
      'Serve a model over an OpenAI-compatible API (completions with token ids, logprobs, prompt_logprobs; vLLM and SGLang weight reloads)',
    )
    .requiredOption('--model <path>', 'checkpoint or Hugging Face folder (or llama2.c .bin) with its tokenizer')
    .option('--port <n>', 'port (0 = the OS picks one)', int('port'), 8000)
    .option('--host <address>', 'address to bind; anything but loopback needs --api-key-env', '127.0.0.1')
    .option('--api-key-env <NAME>', 'environment variable holding the bearer key clients must send')
    .option('--served-model-name <name>', 'the model name clients send (default: --model as given, as vLLM does)')
    .option('--max-body-bytes <n>', 'largest request accepted', int('max-body-bytes'), 16 * 2 ** 20)
    .action(
      async (opts: {
        model: string;
        port: number;
        host: string;
        apiKeyEnv?: string;
        servedModelName?: string;
        maxBodyBytes: number;
      }) => {
        const backend = await loadBackend(ctx.backend() ?? 'auto');
        const server = await startServer({
          model: opts.model,
          port: opts.port,
          host: opts.host,
          apiKeyEnv: opts.apiKeyEnv,
          servedModelName: opts.servedModelName,
          maxBodyBytes: opts.maxBodyBytes,
          onLog: (line) => process.stderr.write(`rmt serve: ${line}\n`),
        });
        process.stdout.write(
          `rmt serve: '${server.servedModelName}' on ${server.url} (backend ${backend.name}, weight version ${server.version()}); Ctrl-C stops\n`,
        );
        // Serve until SIGINT/SIGTERM, then close the listener and its connections.
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await server.close();
      },
    );
}
