import type { Dirent } from 'node:fs';
import { open, readdir, readlink, stat } from 'node:fs/promises';
import { compareNames } from './files';

/**
 * Files of an image folder as the file system names them. A name that is not valid UTF-8 (a
 * Latin-1 `café.png` from an old archive) stays a Buffer of its bytes, so it can still be opened;
 * every other name is a string as before.
 */
export type FsPath = string | Buffer;

const SEP = Buffer.from('/');

/** A name's bytes as a string when they are valid UTF-8 (they round-trip), else the bytes. */
function nameOf(bytes: Buffer): FsPath {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes;
}

/** `dir/name`, a string when both parts are. */
export function joinPath(dir: FsPath, name: FsPath): FsPath {
  if (typeof dir === 'string' && typeof name === 'string')
    return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
  const d = typeof dir === 'string' ? Buffer.from(dir, 'utf8') : dir;
  const n = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  return Buffer.concat(d.at(-1) === SEP[0] ? [d, n] : [d, SEP, n]);
}

/**
 * A path for messages and lists: valid UTF-8 as it is, every byte that is not written `\xNN`
 * (so `caf\xe9.png`), which names the file unambiguously and never lossily.
 */
export function displayPath(p: FsPath): string {
  if (typeof p === 'string') return p;
  let out = '';
  let i = 0;
  while (i < p.length) {
    const len = utf8SequenceLength(p, i);
    if (len > 0) {
      out += p.subarray(i, i + len).toString('utf8');
      i += len;
    } else {
      out += `\\x${p[i].toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 if the byte there does not start one. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (len === 0 || i + len > b.length) return 0;
  for (let k = 1; k < len; k++) if ((b[i + k] & 0xc0) !== 0x80) return 0;
  // Overlong forms, surrogates and code points past U+10FFFF do not round-trip: not UTF-8 either.
  const seq = b.subarray(i, i + len);
  return Buffer.from(seq.toString('utf8'), 'utf8').equals(seq) ? len : 0;
}

/** The extension of a name, lower-cased (`.png`), from its bytes. */
function extensionOf(name: FsPath): string {
  const s = typeof name === 'string' ? name : name.toString('latin1');
  const dot = s.lastIndexOf('.');
  return dot <= 0 ? '' : s.slice(dot).toLowerCase();
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file',
  ELOOP: 'too many levels of symbolic links',
  EISDIR: 'is a directory',
  EIO: 'input/output error',
};

/** `permission denied (EACCES)` for an errno error, else its message. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code && REASONS[code] ? `${REASONS[code]} (${code})` : (e as Error).message;
}

/**
 * Why a file cannot be read, if the reason is the file system's (permissions, a missing file, a
 * broken symbolic link), else undefined: then the bytes are there and the image itself is bad.
 * Used after a decoder failed, whose own message ("unsupported image format", "Input file is
 * missing") cannot tell these apart.
 */
export async function unreadableBecause(path: FsPath): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r');
    try {
      await handle.read(Buffer.alloc(1), 0, 1, 0);
    } finally {
      await handle.close();
    }
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const target = await readlink(path).catch(() => undefined);
      if (target !== undefined) return `broken symbolic link to '${target}' (ENOENT)`;
    }
    return describeFsError(e);
  }
}

export interface DirIdentity {
  dev: number;
  ino: number;
}

/** What a directory entry is once symbolic links are followed; undefined for a broken link. */
async function kindOf(entry: Dirent<Buffer>, path: FsPath): Promise<'dir' | 'file' | 'other' | undefined> {
  if (entry.isDirectory()) return 'dir';
  if (entry.isFile()) return 'file';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

export interface FolderEntry {
  name: FsPath;
  path: FsPath;
  /** undefined: a symbolic link whose target does not exist. */
  kind: 'dir' | 'file' | 'other' | undefined;
}

/** The visible entries of a folder (no dot files), symbolic links followed, sorted by name. */
export async function listFolder(dir: FsPath): Promise<FolderEntry[]> {
  let entries: Dirent<Buffer>[];
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
  } catch (e) {
    throw new Error(`image_folder: cannot list folder '${displayPath(dir)}': ${describeFsError(e)}`, {
      cause: e,
    });
  }
  const out: FolderEntry[] = [];
  for (const e of entries) {
    if (e.name[0] === 0x2e) continue; // '.'
    const name = nameOf(e.name);
    const path = joinPath(dir, name);
    out.push({ name, path, kind: await kindOf(e, path) });
  }
  return out.sort((a, b) => compareNames(displayPath(a.name), displayPath(b.name)));
}

/** A folder's identity on disk, the same through every symbolic link to it. */
export async function folderIdentity(dir: FsPath): Promise<DirIdentity> {
  const s = await stat(dir);
  return { dev: s.dev, ino: s.ino };
}

/**
 * Image files under `dir` (recursively if asked), sorted by name at each level, following
 * symbolic links to files and folders. A folder that links back to one it is inside of (a
 * loop; `ancestors` are the folders above `dir`, the dataset's root among them) is not entered
 * again: its images are listed through the real path. A broken link with an image extension
 * is listed, so reading it reports the missing target.
 */
export async function listImageFiles(
  dir: FsPath,
  extensions: Set<string>,
  recursive: boolean,
  ancestors: DirIdentity[] = [],
): Promise<FsPath[]> {
  const chain = [...ancestors, await folderIdentity(dir)];
  const out: FsPath[] = [];
  for (const e of await listFolder(dir)) {
    if (e.kind === 'dir') {
      if (!recursive) continue;
      const s = await folderIdentity(e.path);
      if (chain.some((a) => a.dev === s.dev && a.ino === s.ino)) continue; // a loop
      out.push(...(await listImageFiles(e.path, extensions, true, chain)));
    } else if ((e.kind === 'file' || e.kind === undefined) && extensions.has(extensionOf(e.name))) {
      out.push(e.path);
    }
  }
  return out;
}
