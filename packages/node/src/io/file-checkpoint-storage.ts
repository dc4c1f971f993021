import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointStorage } from '@selfsup/core';
import { atomicWriteFile, type AtomicWriteOps } from './atomic-write';

/** Checkpoints as files in one folder, written atomically (temp file, fsync, rename). */
export class FileCheckpointStorage implements CheckpointStorage {
  constructor(
    readonly location: string,
    /** Replace file operations of the atomic write, e.g. to simulate a full disk in tests. */
    private readonly writeOps: Partial<AtomicWriteOps> = {},
  ) {}

  async list(): Promise<string[]> {
    try {
      return await readdir(this.location);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async read(name: string): Promise<Uint8Array> {
    return readFile(this.pathOf(name));
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.location, { recursive: true });
    await atomicWriteFile(this.pathOf(name), bytes, this.writeOps);
  }

  async remove(name: string): Promise<void> {
    try {
      await unlink(this.pathOf(name));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  pathOf(name: string): string {
    return join(this.location, name);
  }
}
