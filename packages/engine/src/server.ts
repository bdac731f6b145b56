// `rmt serve`: an OpenAI-compatible server over RMT's own in-process engine (generate from @rmt/model),
// speaking the subset the client uses with vLLM's field names — /v1/completions with token-id prompts,
// n, seed, temperature, top_p, top_k, stop_token_ids, logprobs (the sampled token's), prompt_logprobs
// (top-k), return_token_ids — plus /health, /v1/models and both weight-reload endpoints (vLLM's
// /collective_rpc update_config + reload_weights, SGLang's /update_weights_from_disk). It lets the
// engine path be tested and used without a GPU server, and is the reference the client is tested on.
// Requests that arrive together and sample alike are generated as one batch (request-level batching).
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { logSoftmax, readArray, tf, tokenLogProbs } from '@rmt/backend';
import { createRng, type Rng } from '@rmt/core';
import { generate, loadModel, type LlamaModel, type Tokenizer } from '@rmt/model';
import {
  collectiveRpcSchema,
  completionRequestSchema,
  updateFromDiskSchema,
  WEIGHT_VERSION_HEADER,
  type CompletionRequest,
} from './protocol.js';
import { readWeightsVersion } from './weights.js';

export interface ServeOptions {
  /** A checkpoint or Hugging Face folder (or a llama2.c file) with its tokenizer. */
  model: string;
  /** The name clients must send (default: `model` as given, as vLLM does). */
  servedModelName?: string;
  /** Default 127.0.0.1; any other address needs an API key. */
  host?: string;
  /** Default 8000; 0 = the OS picks a free one. */
  port?: number;
  /** NAME of the environment variable holding the bearer key clients must send. */
  apiKeyEnv?: string;
  env?: Record<string, string | undefined>;
  /** Largest request body accepted (default 16 MiB). */
  maxBodyBytes?: number;
  /** Most rows (prompts × n) of one request, and of one generated batch (default 4096 / 512). */
  maxRequestRows?: number;
  maxBatchRows?: number;
  /** A line per reload (the CLI prints them). */
  onLog?: (line: string) => void;
}

export interface RunningServer {
  /** http://host:port */
  url: string;
  port: number;
  servedModelName: string;
  /** The weight version served (the marker file of the folder last loaded), 'none' without one. */
  version(): string;
  close(): Promise<void>;
}

/** Loopback hosts: the server is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'BadRequestError',
  ) {
    super(message);
  }
}

interface Row {
  prompt: number[];
  maxTokens: number;
  rng: Rng;
}

interface Job {
  /** Requests with the same key sample alike and can share a batch. */
  key: string;
  rows: Row[];
  request: CompletionRequest;
  resolve: (out: {
    tokens: number[][];
    logProbs: number[][];
    finishReasons: ('stop' | 'length')[];
    version: string;
  }) => void;
  reject: (error: unknown) => void;
}

/** Start serving; resolves once listening. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const env = options.env ?? process.env;
  const key = options.apiKeyEnv ? env[options.apiKeyEnv] : undefined;
  if (options.apiKeyEnv && !key)
    throw new Error(
      `--api-key-env ${options.apiKeyEnv}: that environment variable is not set (it must hold the API key)`,
    );
  if (!isLoopback(host) && !key)
    throw new Error(
      `--host ${host} is not a loopback address: serving beyond this machine needs --api-key-env NAME (an environment variable holding the key)`,
    );
  const maxBody = options.maxBodyBytes ?? 16 * 2 ** 20;
  const maxRequestRows = options.maxRequestRows ?? 4096;
  const maxBatchRows = options.maxBatchRows ?? 512;
  const name = options.servedModelName ?? options.model;

  const loaded = await loadModel(options.model);
  const model: LlamaModel = loaded.model;
  const tokenizer: Tokenizer | undefined = loaded.tokenizer;
  let path = options.model;
  let version = String((await readWeightsVersion(options.model)) ?? 'none');
  let reloading = Promise.resolve();

  // Request-level batching: jobs queue up while a batch runs; the next batch takes every queued job that samples alike.
  const queue: Job[] = [];
  let draining = false;
  // Generation awaits its reads (a GPU backend reads asynchronously), so a weight reload could land between
  // two decode steps: batches and the reload's assignment run one at a time, in arrival order, through this.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(f: () => Promise<T> | T): Promise<T> => {
    const run = tail.then(f);
    tail = run.catch(() => undefined);
    return run;
  };
  const drain = () => {
    if (draining) return;
    draining = true;
    setImmediate(() => {
      void (async () => {
        try {
          while (queue.length > 0) {
            const batch = takeBatch(queue, maxBatchRows);
            await exclusive(() => runBatch(batch));
          }
        } finally {
          draining = false;
        }
      })();
    });
  };
  const runBatch = async (jobs: Job[]) => {
    const r = jobs[0]!.request;
    const rows = jobs.flatMap((j) => j.rows);
    const served = version;
    try {
      const out = await generate(
        model,
        rows.map((x) => x.prompt),
        {
          maxNewTokens: rows.map((x) => x.maxTokens),
          temperature: r.temperature,
          topK: r.top_k > 0 ? r.top_k : undefined,
          topP: r.top_p < 1 ? r.top_p : undefined,
          stopTokens: r.stop_token_ids,
          padId: tokenizer?.padId ?? 0,
          rowRngs: rows.map((x) => x.rng),
        },
      );
      let at = 0;
      for (const job of jobs) {
        const n = job.rows.length;
        job.resolve({
          tokens: out.tokens.slice(at, at + n),
          logProbs: out.logProbs.slice(at, at + n),
          finishReasons: out.finishReasons.slice(at, at + n),
          version: served,
        });
        at += n;
      }
    } catch (error) {
      for (const job of jobs) job.reject(error);
    }
  };

  const reload = (from: string) => {
    const next = reloading.then(async () => {
      const fresh = await loadModel(from).catch((error: unknown) => {
        throw new HttpError(400, `cannot load weights from ${from}: ${(error as Error).message}`);
      });
      try {
        if (JSON.stringify(fresh.model.config) !== JSON.stringify(model.config))
          throw new HttpError(400, `${from}: another architecture than the served model (its config.json differs)`);
        const params = fresh.model.parameters();
        // Between two batches (`exclusive`), so no batch mixes two versions.
        await exclusive(() => model.parameters().forEach((p, i) => p.assign(params[i]!)));
      } finally {
        fresh.model.dispose();
      }
      path = from;
      version = String((await readWeightsVersion(from)) ?? 'none');
      options.onLog?.(`reloaded weights from ${from} (version ${version})`);
    });
    reloading = next.catch(() => undefined);
    return next;
  };

  const completions = async (request: CompletionRequest) => {
    if (request.model !== name)
      throw new HttpError(404, `The model \`${request.model}\` does not exist.`, 'NotFoundError');
    if (request.logprobs !== undefined && request.logprobs !== null && request.logprobs > 0)
      throw new HttpError(400, 'logprobs: rmt serve returns the sampled token’s log-prob only (logprobs: 0)');
    const prompts = Array.isArray(request.prompt[0]) ? (request.prompt as number[][]) : [request.prompt as number[]];
    const vocab = model.config.vocabSize;
    if (prompts.length * request.n > maxRequestRows)
      throw new HttpError(400, `${prompts.length} prompts × n ${request.n} is over ${maxRequestRows} rows a request`);
    prompts.forEach((p, i) => {
      const bad = p.find((t) => t >= vocab);
      if (bad !== undefined)
        throw new HttpError(400, `prompt ${i}: token id ${bad} is outside the vocabulary of ${vocab}`);
      if (p.length + request.max_tokens > model.config.maxSeqLen)
        throw new HttpError(
          400,
          `prompt ${i}: ${p.length} tokens + max_tokens ${request.max_tokens} is over the model's ${model.config.maxSeqLen}`,
        );
    });
    await reloading;
    const seed = request.seed ?? randomInt(2 ** 47);
    const rows: Row[] = prompts.flatMap((prompt, p) =>
      Array.from({ length: request.n }, (_, j) => ({
        prompt,
        maxTokens: request.max_tokens,
        rng: createRng(`serve:${seed}:${p}:${j}`),
      })),
    );
    const key = JSON.stringify([request.temperature, request.top_k, request.top_p, request.stop_token_ids]);
    const generated = await new Promise<Parameters<Job['resolve']>[0]>((resolve, reject) => {
      queue.push({ key, rows, request, resolve, reject });
      drain();
    });
    const promptLogprobs = request.prompt_logprobs
      ? await promptRecords(model, prompts, request.prompt_logprobs)
      : undefined;
    const choices = generated.tokens.map((tokens, r) => {
      const p = Math.floor(r / request.n);
      return {
        index: r,
        text: tokenizer ? tokenizer.decode(tokens) : '',
        finish_reason: generated.finishReasons[r],
        stop_reason: generated.finishReasons[r] === 'stop' ? tokens.at(-1) : null,
        logprobs:
          request.logprobs === undefined || request.logprobs === null
            ? null
            : {
                tokens: tokens.map((t) =>
                  request.return_tokens_as_token_ids ? `token_id:${t}` : (tokenizer?.decode([t]) ?? ''),
                ),
                token_logprobs: generated.logProbs[r],
                top_logprobs: null,
                text_offset: tokens.map(() => 0),
              },
        prompt_logprobs: promptLogprobs?.[p] ?? null,
        token_ids: request.return_token_ids ? tokens : null,
        prompt_token_ids: request.return_token_ids ? prompts[p] : null,
      };
    });
    const completionTokens = generated.tokens.reduce((n, t) => n + t.length, 0);
    const promptTokens = prompts.reduce((n, p) => n + p.length, 0);
    const body = {
      id: `cmpl-${randomInt(2 ** 47).toString(36)}`,
      object: 'text_completion',
      created: Math.floor(Date.now() / 1000),
      model: name,
      choices,
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
      },
    };
    return { body, version: generated.version };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    if (route === 'GET /health') return send(res, 200, undefined, version);
    if (key && req.headers.authorization !== `Bearer ${key}`)
      throw new HttpError(401, 'missing or wrong API key (Authorization: Bearer …)', 'AuthenticationError');
    switch (route) {
      case 'GET /v1/models':
        return send(
          res,
          200,
          {
            object: 'list',
            data: [
              {
                id: name,
                object: 'model',
                created: 0,
                owned_by: 'rmt',
                root: path,
                max_model_len: model.config.maxSeqLen,
                rmt_weight_version: version,
              },
            ],
          },
          version,
        );
      case 'POST /v1/completions': {
        const { body, version: served } = await completions(
          parse(completionRequestSchema, await readBody(req, maxBody)),
        );
        return send(res, 200, body, served);
      }
      case 'POST /collective_rpc': {
        const rpc = parse(collectiveRpcSchema, await readBody(req, maxBody));
        if (rpc.method === 'update_config') {
          const target = (rpc.args[0] as { model_config?: { model?: unknown } } | undefined)?.model_config?.model;
          if (typeof target !== 'string' || target === '')
            throw new HttpError(
              400,
              'update_config: rmt serve takes args [{ "model_config": { "model": "<folder>" } }]',
            );
          path = target;
        } else if (rpc.method === 'reload_weights') await reload(path);
        else
          throw new HttpError(
            400,
            `collective_rpc: method '${rpc.method}' is not supported by rmt serve (update_config, reload_weights)`,
          );
        return send(res, 200, { results: [null] }, version);
      }
      case 'POST /update_weights_from_disk': {
        const { model_path } = parse(updateFromDiskSchema, await readBody(req, maxBody));
        await reload(model_path);
        return send(res, 200, { success: true, message: `loaded ${model_path}`, num_paused_requests: 0 }, version);
      }
      case 'POST /reset_prefix_cache':
        return send(res, 200, undefined, version); // no prefix cache: nothing to drop
      default:
        throw new HttpError(404, `no route ${route}`, 'NotFoundError');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e =
        error instanceof HttpError
          ? error
          : new HttpError(500, (error as Error).message ?? String(error), 'InternalServerError');
      if (!res.headersSent)
        send(res, e.status, { error: { message: e.message, type: e.type, code: e.status } }, version);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8000);
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    servedModelName: name,
    version: () => version,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const job of queue.splice(0)) job.reject(new Error('server closed'));
      model.dispose();
    },
  };
}

/** The queued jobs of the first job's kind (up to `maxRows` rows; the first always), removed from the queue. */
function takeBatch(queue: Job[], maxRows: number): Job[] {
  const key = queue[0]!.key;
  const batch: Job[] = [];
  let rows = 0;
  for (let i = 0; i < queue.length;) {
    const job = queue[i]!;
    if (job.key === key && (batch.length === 0 || rows + job.rows.length <= maxRows)) {
      batch.push(job);
      rows += job.rows.length;
      queue.splice(i, 1);
    } else i++;
  }
  return batch;
}

/**
 * vLLM's prompt_logprobs: per prompt, null at position 0, then per position t the k most likely tokens of
 * the distribution over x_t (ranks 1…k) plus x_t itself with its rank, keyed by token id.
 */
async function promptRecords(model: LlamaModel, prompts: number[][], k: number) {
  const width = Math.max(...prompts.map((p) => p.length));
  // Right padding cannot change earlier positions (causal attention), so rows need no mask.
  const rows = prompts.map((p) => [...p, ...new Array<number>(width - p.length).fill(0)]);
  const kk = Math.min(k, model.config.vocabSize);
  const tensors = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(rows, undefined, 'int32'));
    const logp = logSoftmax(logits);
    const { values, indices } = tf.topk(logp, kk);
    // The prompt's own next token at each position t − 1 (the last position predicts nothing asked).
    const nextIds = rows.map((r) => [...r.slice(1), 0]);
    const ownLp = tokenLogProbs(logits, tf.tensor2d(nextIds, undefined, 'int32'));
    // The rank compares logits with the own token's logit, picked bit for bit from the same tensor: a
    // log-probability computed another way may differ in its last bit and count the token above itself.
    const own = tf.gatherND(
      logits,
      tf.tensor3d(
        nextIds.map((r, b) => r.map((id, t) => [b, t, id])),
        undefined,
        'int32',
      ),
    );
    const rank = tf.add(tf.sum(tf.cast(tf.greater(logits, tf.expandDims(own, -1)), 'int32'), -1), 1);
    return [values, indices, ownLp, rank];
  });
  const [values, indices, own, ranks] = (await Promise.all(tensors.map((t) => readArray<unknown>(t)))) as [
    number[][][],
    number[][][],
    number[][],
    number[][],
  ];
  return prompts.map((p, b) => [
    null,
    ...p.slice(1).map((token, i) => {
      const record: Record<string, { logprob: number; rank: number; decoded_token: null }> = {};
      indices[b]![i]!.forEach(
        (id, r) => (record[String(id)] = { logprob: values[b]![i]![r]!, rank: r + 1, decoded_token: null }),
      );
      if (!(String(token) in record))
        record[String(token)] = { logprob: own[b]![i]!, rank: ranks[b]![i]!, decoded_token: null };
      return record;
    }),
  ]);
}

function parse<
  S extends {
    safeParse: (
      x: unknown,
    ) =>
      | { success: true; data: unknown }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
>(schema: S, raw: unknown): Extract<ReturnType<S['safeParse']>, { success: true }>['data'] {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new HttpError(400, `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`);
  }
  return result.data as never;
}

/** The JSON body, refused past `limit` bytes (413) or when not JSON (400). */
function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, `a request of ${declared} bytes is over the limit of ${limit}`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, `a request of more than ${limit} bytes is over the limit`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'the body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, version: string): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    [WEIGHT_VERSION_HEADER]: version,
  });
  res.end(text);
}
