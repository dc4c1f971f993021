/**
 * The built `selfsup` CLI as a child process, for what an in-process run cannot show: signals,
 * two processes on one run folder, a read-only file system, permissions that bind root too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './helpers';

export const BIN = join(REPO, 'packages/node/bin/selfsup.js');
/** The CLI and the plugins it loads by package name are built (`npm run build`). */
export const BUILT = [
  'packages/node/dist/cli.js',
  'packages/core/dist/index.js',
  'packages/plugin-byol/dist/index.js',
].every((p) => existsSync(join(REPO, p)));

export interface ChildRun {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

/** Starts `<prefix...> node selfsup.js <args>` in `cwd`. */
export function startCli(args: string[], cwd: string, prefix: string[] = []): ChildRun {
  const argv = [...prefix, process.execPath, BIN, ...args];
  const child = spawn(argv[0], argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const done = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
  }>((res) => child.on('close', (code, signal) => res({ code, signal, stdout: out, stderr: err })));
  return { child, done, stderr: () => err };
}

/** Runs the CLI to its end. */
export function runBuiltCli(args: string[], cwd: string, prefix: string[] = []) {
  return startCli(args, cwd, prefix).done;
}

const isRoot = process.getuid?.() === 0;
const works = (cmd: string[]) => spawnSync(cmd[0], cmd.slice(1), { stdio: 'ignore' }).status === 0;

/**
 * A prefix that makes the child subject to file permissions: root reads a mode-000 file
 * anyway, root without its capabilities (setpriv) does not. Empty for other users; undefined
 * where root cannot drop them here.
 */
export const UNPRIVILEGED: string[] | undefined = !isRoot
  ? []
  : works(['setpriv', '--inh-caps=-all', '--bounding-set=-all', 'true'])
    ? ['setpriv', '--inh-caps=-all', '--bounding-set=-all']
    : undefined;

/**
 * A prefix that runs the child in its own mount namespace with a read-only tmpfs on `dir`
 * (visible to that child only), or undefined where this process may not create one.
 */
export function withReadOnlyMount(dir: string): string[] | undefined {
  if (!works(['unshare', '-m', 'true'])) return undefined;
  return ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', dir];
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Waits until `check()` holds (polling), failing after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
