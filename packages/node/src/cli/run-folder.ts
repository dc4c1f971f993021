import { constants, rmdirSync } from 'node:fs';
import { access, mkdir, rmdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { RunLock } from '../io/run-lock';
import { removeStaleTempFiles } from '../io/stale-temp-files';

const code = (e: unknown) => (e as NodeJS.ErrnoException).code;

const REASONS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  ENOTDIR: 'a path component is not a directory',
};

/** `read-only file system (EROFS)` for an errno error, else its message. */
export function describeFsError(e: unknown): string {
  const c = code(e);
  return c && REASONS[c] ? `${REASONS[c]} (${c})` : (e as Error).message;
}

/**
 * Whether `--out dir` could be created and written, without writing anything: the nearest
 * existing folder on its path must be a directory this process may write into. Node's own
 * recursive mkdir says ENOENT on a read-only file system; this says what is wrong.
 */
export async function checkRunDirectoryWritable(dir: string, flag = '--out'): Promise<string> {
  let probe = dir;
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(probe)).isDirectory();
    } catch (e) {
      // ENOTDIR: a file on the path, found when the walk reaches it.
      if (code(e) !== 'ENOENT' && code(e) !== 'ENOTDIR')
        throw new Error(`${flag} ${dir}: cannot use ${probe}: ${describeFsError(e)}`, { cause: e });
      const parent = dirname(probe);
      if (parent === probe) throw new Error(`${flag} ${dir}: no folder on its path exists`);
      probe = parent;
      continue;
    }
    if (isDirectory) break;
    throw new Error(`${flag} ${dir}: ${probe} is a file, not a directory`);
  }
  try {
    await access(probe, constants.W_OK | constants.X_OK);
  } catch (e) {
    const what = probe === dir ? 'cannot write into it' : `cannot create it in ${probe}`;
    throw new Error(`${flag} ${dir}: ${what}: ${describeFsError(e)}; choose another ${flag}`, {
      cause: e,
    });
  }
  return probe;
}

/**
 * A run folder opened for training: checked writable, created if needed and locked. Until
 * `commit()` nothing else has been written, so `abandon()` leaves the disk as it was (the lock
 * and any folders this created are removed); after it, `close()` only releases the lock. What
 * `open` does is known to the object before each step is done, so `abandonSync` (an exit on a
 * signal, at any moment) undoes it too.
 */
export class RunFolder {
  private committed = false;
  private lock: RunLock | undefined;
  /** The topmost folder this process creates or created (undefined if `dir` existed). */
  private created: string | undefined;

  constructor(readonly dir: string) {}

  async open(opts: { command?: string; warn: (line: string) => void }): Promise<void> {
    const dir = this.dir;
    const existing = await checkRunDirectoryWritable(dir);
    if (existing !== dir) this.created = join(existing, relative(existing, dir).split(sep)[0]);
    try {
      this.created = await mkdir(dir, { recursive: true });
    } catch (e) {
      this.created = undefined;
      throw new Error(`--out ${dir}: cannot create it: ${describeFsError(e)}`, { cause: e });
    }
    this.lock = RunLock.prepare(dir, { command: opts.command });
    try {
      await this.lock.take({ what: `--out ${dir}`, warn: opts.warn });
    } catch (e) {
      this.lock = undefined;
      const c = code(e);
      if (c && REASONS[c])
        throw new Error(`--out ${dir}: cannot write into it: ${describeFsError(e)}`, { cause: e });
      throw e;
    }
  }

  /** When the lock was taken (ms since the epoch). */
  get lockedAtMs(): number {
    if (!this.lock) throw new Error(`run folder ${this.dir} is not locked`);
    return this.lock.startedAtMs;
  }

  /**
   * Every check has passed: from here on the command writes into the folder. Removes the temp
   * files that writers killed mid-write left (older than the lock, or of a dead process).
   */
  async commit(): Promise<string[]> {
    const lockedAt = this.lockedAtMs;
    this.committed = true;
    const dirs = [this.dir, join(this.dir, 'checkpoints'), join(this.dir, 'plots')];
    return removeStaleTempFiles(dirs, lockedAt);
  }

  get isCommitted(): boolean {
    return this.committed;
  }

  /** The command was refused: release the lock and remove the folders this created, if still empty. */
  async abandon(): Promise<void> {
    await this.lock?.release();
    if (!this.committed) await removeCreated(this.dir, this.created);
  }

  abandonSync(): void {
    this.lock?.releaseSync();
    if (!this.committed && this.created) removeCreatedSync(this.dir, this.created);
  }

  async close(): Promise<void> {
    await this.lock?.release();
  }
}

/** The folders from `created` down to `dir`, deepest first. */
function createdChain(dir: string, created: string): string[] {
  const rel = relative(created, dir);
  const parts = rel === '' ? [] : rel.split(sep);
  const chain = [created];
  for (const p of parts) chain.push(join(chain[chain.length - 1], p));
  return chain.reverse();
}

async function removeCreated(dir: string, created: string | undefined): Promise<void> {
  if (!created) return;
  // rmdir only removes empty folders: anything another process put there stays.
  for (const d of createdChain(dir, created))
    if (
      !(await rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
}

function removeCreatedSync(dir: string, created: string): void {
  for (const d of createdChain(dir, created)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
  }
}
