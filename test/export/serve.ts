/**
 * A static file server on 127.0.0.1 for loading exported tfjs models the way a page does (over
 * HTTP), plus one POST endpoint a page sends its result to.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.bin': 'application/octet-stream',
};

export interface StaticServer {
  url: string;
  /** Resolves with the body of the next POST /result. */
  nextResult(timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

/** `routes` maps a URL prefix ('/model/') to a folder, or an exact path ('/input.json') to a file. */
export async function serve(routes: Record<string, string>): Promise<StaticServer> {
  const waiting: Array<(body: string) => void> = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (req.method === 'POST' && path === '/result') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.end('ok');
        waiting.shift()?.(Buffer.concat(chunks).toString('utf8'));
      });
      return;
    }
    let file: string | undefined;
    for (const [prefix, target] of Object.entries(routes)) {
      if (path === prefix) file = target;
      else if (prefix.endsWith('/') && path.startsWith(prefix)) {
        const rest = normalize(path.slice(prefix.length));
        if (!rest.startsWith('..')) file = join(target, rest);
      }
    }
    if (!file) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    readFile(file).then(
      (bytes) =>
        res
          .writeHead(200, { 'content-type': TYPES[extname(file!)] ?? 'application/octet-stream' })
          .end(bytes),
      () => res.writeHead(404).end(`not found: ${path}`),
    );
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    nextResult: (timeoutMs) =>
      new Promise((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`no POST /result within ${timeoutMs} ms`)), timeoutMs);
        waiting.push((body) => {
          clearTimeout(timer);
          ok(body);
        });
      }),
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
