import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX } from './atomic-write';

/** The lock file a training process holds in its run folder. */
export const RUN_LOCK_FILE = 'train.lock';

/** Who holds a run folder: written into the lock file as JSON. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** The command line, for the message a second run gets. */
  command?: string;
}

/** Whether a process of this host with that pid exists (EPERM: it exists, as another user). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

/** A takeover guard older than this was left by a process that died while taking over. */
const STALE_GUARD_MS = 10_000;

function parseHolder(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid === 'number' && typeof v.host === 'string' && typeof v.startedAt === 'string')
      return v as LockHolder;
  } catch {
    // Not JSON: reported by the caller as an unreadable lock.
  }
  return undefined;
}

/**
 * Creates `path` holding `text` only if it does not exist, never half-written: the text goes to
 * a private file first, then link(2) gives it the lock's name, failing with EEXIST if taken.
 * `track` learns the private file's name while it exists, so an exit meanwhile can remove it.
 */
async function createExclusive(path: string, text: string, track: (tmp?: string) => void): Promise<boolean> {
  // Named like atomicWriteFile's temp files, so a crash here leaves nothing the cleanup misses.
  const tmp = join(
    dirname(path),
    `${TEMP_PREFIX}${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`,
  );
  track(tmp);
  try {
    await writeFile(tmp, text, { flag: 'wx' });
    await link(tmp, path);
    return true;
  } catch (e) {
    if (code(e) === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code(e) ?? '')) throw e;
    // A file system without hard links: O_EXCL alone (the lock may be read half-written).
    try {
      await writeFile(path, text, { flag: 'wx' });
      return true;
    } catch (e2) {
      if (code(e2) === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    // Synchronous: no signal can be handled between taking the lock and the caller knowing it.
    try {
      unlinkSync(tmp);
    } catch {
      // Never written, or already gone.
    }
    track(undefined);
  }
}

/** link(2) errors of file systems that have no hard links (FAT, some network mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

const describeHolder = (h: LockHolder) =>
  `pid ${h.pid} on host ${h.host}, started ${h.startedAt}${h.command ? `: ${h.command}` : ''}`;

/**
 * An exclusive lock on a run folder: `train.lock` with the holder's pid, host and start time.
 * A second process refuses naming the holder; a lock whose holder died on this host (kill -9, a
 * power cut) is taken over with a warning; one of another host is never, as its pid says nothing.
 */
export class RunLock {
  private released = false;
  /** The private file of an attempt to take the lock, while it exists. */
  private pendingTemp: string | undefined;

  private constructor(
    readonly path: string,
    readonly holder: LockHolder,
  ) {}

  /** When this lock was taken (ms since the epoch). */
  get startedAtMs(): number {
    return Date.parse(this.holder.startedAt);
  }

  /** Takes the lock of `dir` (which must exist): `prepare` then `take`. */
  static async acquire(
    dir: string,
    opts: { what?: string; command?: string; warn: (line: string) => void },
  ): Promise<RunLock> {
    const lock = RunLock.prepare(dir, opts);
    await lock.take(opts);
    return lock;
  }

  /**
   * The lock this process would hold in `dir`, not taken yet. Known before `take` so that
   * `releaseSync` (an exit on a signal) also removes a lock taken a moment before.
   */
  static prepare(dir: string, opts: { command?: string } = {}): RunLock {
    return new RunLock(join(dir, RUN_LOCK_FILE), {
      pid: process.pid,
      host: hostname(),
      startedAt: new Date().toISOString(),
      ...(opts.command !== undefined && { command: opts.command }),
    });
  }

  /**
   * Takes the lock. `what` names the folder in messages (e.g. `--out runs/x`); `warn` receives
   * the takeover of a dead holder's lock.
   */
  async take(opts: { what?: string; warn: (line: string) => void }): Promise<void> {
    const path = this.path;
    const what = opts.what ?? dirname(path);
    const me = this.holder;
    const text = `${JSON.stringify(me)}\n`;
    const track = (tmp?: string) => (this.pendingTemp = tmp);
    for (let attempt = 0; attempt < 50; attempt++) {
      if (await createExclusive(path, text, track)) return;
      let seen: string;
      try {
        seen = await readFile(path, 'utf8');
      } catch (e) {
        if (code(e) === 'ENOENT') continue; // Released meanwhile: try again.
        throw e;
      }
      const holder = parseHolder(seen);
      if (!holder) {
        throw new Error(
          `${what} is locked by ${path}, which is not a selfsup lock file (${JSON.stringify(seen.slice(0, 80))}); ` +
            'delete it if no selfsup train runs in this folder',
        );
      }
      const local = holder.host === me.host;
      if (!local || isProcessAlive(holder.pid)) {
        const gone = local ? '' : `; if that process is gone, delete ${path}`;
        throw new Error(
          `${what} is in use: another selfsup train holds ${path} (${describeHolder(holder)}); ` +
            `wait for it to end or choose another --out${gone}`,
        );
      }
      if (await RunLock.removeDeadLock(path, seen, track)) {
        opts.warn(
          `warning: taking over ${path}: its holder (${describeHolder(holder)}) is no longer running`,
        );
      } else {
        await sleep(20 + Math.random() * 30); // Another process is taking over: see who wins.
      }
    }
    throw new Error(`${what}: could not take ${path}: it kept changing hands`);
  }

  /**
   * Removes the lock if it still holds `seen` (a dead holder's). A guard file taken with
   * link(2) makes the check and the removal one step, so of two processes finding the same dead
   * lock only one removes it, never the other's new lock. False when another process is at it.
   */
  private static async removeDeadLock(
    path: string,
    seen: string,
    track: (tmp?: string) => void,
  ): Promise<boolean> {
    const guard = `${path}.takeover`;
    if (!(await createExclusive(guard, `${process.pid}\n`, track))) {
      const age = await stat(guard).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_GUARD_MS) await unlink(guard).catch(() => undefined);
      return false;
    }
    try {
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now !== seen) return false;
      await unlink(path);
      return true;
    } finally {
      await unlink(guard).catch(() => undefined);
    }
  }

  private ours(text: string | undefined): boolean {
    const h = text === undefined ? undefined : parseHolder(text);
    return !!h && h.pid === this.holder.pid && h.startedAt === this.holder.startedAt;
  }

  /** Removes the lock file if it is still this one's. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    const text = await readFile(this.path, 'utf8').catch(() => undefined);
    if (this.ours(text)) await unlink(this.path).catch(() => undefined);
    this.released = true;
  }

  /**
   * release() for a process about to exit (a second Ctrl-C), where nothing async runs anymore;
   * also when a release() is under way, which the exit would cut short.
   */
  releaseSync(): void {
    if (this.released) return;
    this.released = true;
    if (this.pendingTemp !== undefined) {
      try {
        unlinkSync(this.pendingTemp);
      } catch {
        // Not written yet.
      }
    }
    let text: string | undefined;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return;
    }
    if (this.ours(text)) {
      try {
        unlinkSync(this.path);
      } catch {
        // Already gone: nothing to release.
      }
    }
  }
}
