/**
 * Serves the built page with the headers threaded wasm needs: Cross-Origin-Opener-Policy
 * same-origin and Cross-Origin-Embedder-Policy require-corp make the page cross-origin isolated,
 * which is what gives it SharedArrayBuffer. Also serves the parity fixtures at
 * /fixtures/parity/ for parity.html. `PORT` (default 8080) and `HOST` (default 127.0.0.1).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_OUT_DIR } from './build';
import { REPO_DIR } from './recipes';

export const DEFAULT_PORT = 8080;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.safetensors': 'application/octet-stream',
};

/** The headers of every response: cross-origin isolation, and no stale bundles. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export interface ServeOptions {
  /** The built page (packages/web/dist). */
  root?: string;
  /** Served at /fixtures/parity/ (the repository's test/fixtures/parity). */
  fixturesDir?: string;
  port?: number;
  host?: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** A file under `dir` for a URL path, or undefined when outside it or missing. */
function fileUnder(dir: string, urlPath: string): string | undefined {
  const file = normalize(join(dir, urlPath));
  if (file !== dir && !file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) return undefined;
  if (!existsSync(file)) return undefined;
  const st = statSync(file);
  if (st.isDirectory()) return existsSync(join(file, 'index.html')) ? join(file, 'index.html') : undefined;
  return file;
}

export function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const root = resolve(options.root ?? DEFAULT_OUT_DIR);
  const fixtures = resolve(options.fixturesDir ?? join(REPO_DIR, 'test', 'fixtures', 'parity'));
  if (!existsSync(join(root, 'index.html'))) {
    return Promise.reject(
      new Error(`${root} has no index.html: build the page first (npm run build -w @selfsup/web)`),
    );
  }
  const server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, ISOLATION_HEADERS).end('bad URL');
      return;
    }
    const prefix = '/fixtures/parity/';
    const file = path.startsWith(prefix)
      ? fileUnder(fixtures, path.slice(prefix.length))
      : fileUnder(root, path);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, ISOLATION_HEADERS).end();
      return;
    }
    if (!file) {
      res.writeHead(404, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': statSync(file).size,
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  const host = options.host ?? '127.0.0.1';
  return new Promise((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new Error(
          err.code === 'EADDRINUSE'
            ? `port ${options.port} on ${host} is in use: set PORT to another port`
            : `cannot serve on ${host}:${options.port}: ${err.message}`,
        ),
      ),
    );
    server.listen(options.port ?? DEFAULT_PORT, host, () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : options.port;
      ok({
        url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/`,
        server,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

function portFromEnv(): number {
  const raw = process.env.PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT=${raw}: expected a port number (0-65535)`);
  }
  return port;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  Promise.resolve()
    .then(() => startServer({ port: portFromEnv(), host: process.env.HOST || undefined }))
    .then(
      (s) =>
        console.log(
          `selfsup web page: ${s.url}  (COOP/COEP set: cross-origin isolated, wasm threads on; Ctrl-C stops)`,
        ),
      (err: unknown) => {
        console.error(`selfsup web: ${(err as Error).message}`);
        process.exit(1);
      },
    );
}
