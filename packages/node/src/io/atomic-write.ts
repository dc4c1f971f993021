import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * The file operations an atomic write performs. Replaceable one by one so tests can simulate a
 * full disk (ENOSPC) or a failing rename without touching the real file system's behaviour.
 */
export interface AtomicWriteOps {
  /** Write all of `data` to the open file. */
  write(handle: FileHandle, data: Uint8Array): Promise<void>;
  /** Flush the file's data to disk. */
  sync(handle: FileHandle): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Flush a directory entry change (the rename) to disk. */
  syncDir(dir: string): Promise<void>;
}

async function writeAll(handle: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done);
    if (bytesWritten <= 0) throw new Error(`write made no progress after ${done} of ${data.length} bytes`);
    done += bytesWritten;
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some platforms (Windows, some network file systems) cannot fsync a directory; the rename still happened.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
  } finally {
    await handle?.close();
  }
}

export const defaultAtomicWriteOps: AtomicWriteOps = {
  write: writeAll,
  sync: (handle) => handle.sync(),
  rename,
  syncDir,
};

/** Temp files start with this so directory listings can tell them from finished files. */
export const TEMP_PREFIX = '.tmp-';

const TEMP_NAME_RE = /^\.tmp-.+\.(\d+)\.[0-9a-f]{8}$/;

/** The pid of the process writing a temp file named `.tmp-<name>.<pid>.<hex>`, or undefined. */
export function tempFileWriter(name: string): number | undefined {
  const m = TEMP_NAME_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Write `data` to `path` so that `path` is either the old file or the whole new one, even across a
 * crash: temp file in the same directory, write, fsync, rename over `path`, fsync the directory.
 * On failure the temp file is removed and the error rethrown; `path` is untouched.
 */
export async function atomicWriteFile(
  path: string,
  data: Uint8Array,
  ops: Partial<AtomicWriteOps> = {},
): Promise<void> {
  const o = { ...defaultAtomicWriteOps, ...ops };
  const dir = dirname(path);
  const tmp = join(dir, `${TEMP_PREFIX}${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  let handle: FileHandle | undefined;
  let renamed = false;
  try {
    handle = await open(tmp, 'wx');
    await o.write(handle, data);
    await o.sync(handle);
    await handle.close();
    handle = undefined;
    await o.rename(tmp, path);
    renamed = true;
    await o.syncDir(dir);
  } catch (e) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    if (!renamed) await unlink(tmp).catch(() => undefined);
    throw e;
  }
}
