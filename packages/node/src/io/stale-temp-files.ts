import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_PREFIX, tempFileWriter } from './atomic-write';
import { isProcessAlive } from './run-lock';

/**
 * Removes the temp files of interrupted atomic writes (`.tmp-*`, e.g. a checkpoint whose writer
 * was killed mid-write, a whole checkpoint's size each) from `dirs`: those whose writer process
 * is dead, and those older than `olderThanMs` (the caller's lock: no live writer may have made
 * them, whatever process now has that pid). Returns the paths removed; missing folders are fine.
 */
export async function removeStaleTempFiles(dirs: string[], olderThanMs: number): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    for (const name of names) {
      if (!name.startsWith(TEMP_PREFIX)) continue;
      const path = join(dir, name);
      const writer = tempFileWriter(name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) continue;
      const deadWriter = writer !== undefined && writer !== process.pid && !isProcessAlive(writer);
      if (!deadWriter && info.mtimeMs >= olderThanMs) continue;
      try {
        await unlink(path);
        removed.push(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
  }
  return removed;
}
