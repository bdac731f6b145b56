// Test helpers (not exported from the package): a fault-injecting HTTP proxy on loopback, between the
// client and a server, that passes, fails, delays or rewrites answers on demand.
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';

type FaultAction =
  | { kind: 'pass' }
  | { kind: 'status'; code: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' }
  | { kind: 'mutate'; f: (json: Record<string, unknown>) => unknown }
  | { kind: 'huge'; bytes: number };

export interface FaultProxy {
  url: string;
  /** Requests seen, per path. */
  seen: Map<string, number>;
  /** Where requests go (can change: a restarted server). */
  target: string;
  /** Decides each request's fate (default: pass). */
  fault: (path: string, count: number) => FaultAction;
  close(): Promise<void>;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const proxy: FaultProxy = {
    url: '',
    seen: new Map(),
    target,
    fault: () => ({ kind: 'pass' }),
    close: async () => undefined,
  };
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const count = (proxy.seen.get(path) ?? 0) + 1;
    proxy.seen.set(path, count);
    const body = await readAll(req);
    const action = proxy.fault(path, count);
    if (action.kind === 'status')
      return res.writeHead(action.code, { 'content-type': 'application/json' }).end('{"error":{"message":"injected"}}');
    if (action.kind === 'drop') return req.socket.destroy();
    if (action.kind === 'huge')
      return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"pad":"${'x'.repeat(action.bytes)}"}`);
    if (action.kind === 'delay') await new Promise<void>((r) => timers.add(setTimeout(r, action.ms)));
    const url = new URL(req.url ?? '/', proxy.target);
    const upstream = httpRequest(
      url,
      { method: req.method, headers: { ...req.headers, host: url.host } },
      async (up) => {
        const data = await readAll(up);
        const headers = { ...up.headers };
        let out = data;
        if (action.kind === 'mutate') {
          out = Buffer.from(JSON.stringify(action.f(JSON.parse(data.toString('utf8')) as Record<string, unknown>)));
          headers['content-length'] = String(out.length);
        }
        if (!res.destroyed) res.writeHead(up.statusCode ?? 502, headers).end(out);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent)
        res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"upstream down"}}');
    });
    upstream.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  proxy.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  proxy.close = async () => {
    for (const t of timers) clearTimeout(t);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
