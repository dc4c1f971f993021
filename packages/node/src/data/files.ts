import { stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

/** gunzips when the bytes start with the gzip magic (1f 8b); returns raw bytes otherwise. */
export function maybeGunzip(bytes: Uint8Array): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const out = gunzipSync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }
  return bytes;
}

/** Throws a message naming `path` unless it is an existing directory. */
export async function requireDirectory(path: string, dataset: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new Error(`${dataset}: path '${path}' does not exist`);
  }
  if (!isDir) throw new Error(`${dataset}: path '${path}' is not a directory`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Node's locale-independent ordering (code units), so listings sort the same everywhere. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
