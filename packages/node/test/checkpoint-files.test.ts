import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Checkpointer,
  parseSafetensorsHeader,
  type CheckpointerOptions,
  type TensorData,
} from '@selfsup/core';
import { FileCheckpointStorage, type AtomicWriteOps } from '../src';

/** A Checkpointer over a folder, with the atomic write's file operations replaceable. */
function fileCheckpointer<M = unknown>(
  dir: string,
  options: CheckpointerOptions & { writeOps?: Partial<AtomicWriteOps> } = {},
): Checkpointer<M> {
  return new Checkpointer<M>(new FileCheckpointStorage(dir, options.writeOps), options);
}

const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'selfsup-ckpt-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const payload = (step: number) => ({
  tensors: new Map<string, TensorData>([
    ['model.w', { shape: [2, 2], data: new Float32Array([step, 1, 2, 3]) }],
    ['optim.m', { shape: [3], data: new Float32Array([-step, 0.5, 0.25]) }],
  ]),
  meta: { step, lr: 0.1 * step, rng: [1, 2, 3], note: 'héllo' },
});

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });

describe('Checkpointer', () => {
  it('saves one verified file per step and loads the latest back', async () => {
    const dir = join(await tmp(), 'nested', 'ckpts'); // created on first save
    const ck = fileCheckpointer<ReturnType<typeof payload>['meta']>(dir, { keepLast: 5 });
    expect(await ck.list()).toEqual([]);
    expect(await ck.loadLatest()).toBeUndefined();
    const p1 = await ck.save(1, payload(1));
    const p10 = await ck.save(10, payload(10));
    const p2 = await ck.save(2, payload(2));
    expect((await ck.list()).map((c) => [c.path, c.step])).toEqual([
      [p1, 1],
      [p2, 2],
      [p10, 10],
    ]);
    expect((await readdir(dir)).sort()).toEqual([
      'checkpoint-00000001.safetensors',
      'checkpoint-00000002.safetensors',
      'checkpoint-00000010.safetensors',
    ]);
    const latest = (await ck.loadLatest())!;
    expect(latest.path).toBe(p10);
    expect(latest.step).toBe(10);
    expect(latest.meta).toEqual(payload(10).meta);
    expect(latest.tensors.get('model.w')!.data).toEqual(new Float32Array([10, 1, 2, 3]));
    expect(latest.tensors.get('optim.m')!.shape).toEqual([3]);
    // The file is plain safetensors with the checksum in __metadata__.
    const md = parseSafetensorsHeader(await readFile(p10)).metadata;
    expect(md['selfsup.step']).toBe('10');
    expect(JSON.parse(md['selfsup.meta'])).toEqual(payload(10).meta);
    expect(md['selfsup.sha256']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stores an I64 tensor (num_batches_tracked) as I64 and checksums its bytes', async () => {
    const dir = await tmp();
    const warnings: string[] = [];
    const ck = fileCheckpointer(dir, { warn: (m) => warnings.push(m) });
    const tensors = new Map<string, TensorData>([
      ['model.bn.num_batches_tracked', { shape: [], data: new Float32Array([3]), fileDtype: 'I64' }],
    ]);
    const p1 = await ck.save(1, { tensors, meta: {} });
    const header = parseSafetensorsHeader(await readFile(p1));
    expect(header.entries.get('model.bn.num_batches_tracked')!.dtype).toBe('I64');
    expect((await ck.load(basename(p1))).tensors.get('model.bn.num_batches_tracked')!.data).toEqual(
      new Float32Array([3]),
    );
    const p2 = await ck.save(2, { tensors, meta: {} });
    const bytes = await readFile(p2);
    bytes[bytes.length - 8] ^= 0x01; // the count's low byte: 3 -> 2
    await writeFile(p2, bytes);
    expect((await ck.loadLatest())!.path).toBe(p1);
    expect(warnings[0]).toMatch(/SHA-256 [0-9a-f]{64} does not match/);
  });

  it('prunes to the last keepLast checkpoints after each successful save', async () => {
    const dir = await tmp();
    const ck = fileCheckpointer(dir, { keepLast: 2 });
    for (const s of [0, 5, 10, 15]) await ck.save(s, payload(s));
    expect((await ck.list()).map((c) => c.step)).toEqual([10, 15]);
    await writeFile(join(dir, 'notes.txt'), 'not a checkpoint');
    await ck.save(20, payload(20));
    expect((await readdir(dir)).sort()).toEqual([
      'checkpoint-00000015.safetensors',
      'checkpoint-00000020.safetensors',
      'notes.txt',
    ]);
    expect(() => fileCheckpointer(dir, { keepLast: 0 })).toThrow(
      /keepLast must be a positive integer, got 0/,
    );
  });

  it('falls back to the previous checkpoint when the latest is corrupt, warning with its name', async () => {
    const dir = await tmp();
    const warnings: string[] = [];
    const ck = fileCheckpointer(dir, { keepLast: 3, warn: (m) => warnings.push(m) });
    const p1 = await ck.save(1, payload(1));
    const p2 = await ck.save(2, payload(2));
    const bytes = await readFile(p2);
    bytes[bytes.length - 2] ^= 0x10; // one flipped bit in the data
    await writeFile(p2, bytes);
    const got = (await ck.loadLatest())!;
    expect(got.step).toBe(1);
    expect(got.path).toBe(p1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`skipping unusable checkpoint ${p2}`);
    expect(warnings[0]).toMatch(/SHA-256 [0-9a-f]{64} does not match/);
    expect(warnings[0]).toContain(`falling back to ${p1}`);
  });

  it('detects a tampered meta and a truncated file', async () => {
    const dir = await tmp();
    const warnings: string[] = [];
    const ck = fileCheckpointer(dir, { warn: (m) => warnings.push(m) });
    const p1 = await ck.save(1, payload(1));
    const p2 = await ck.save(2, payload(2));
    const p3 = await ck.save(3, payload(3));
    await writeFile(p3, (await readFile(p3)).subarray(0, 100)); // truncated mid-header/data
    const b2 = await readFile(p2);
    expect(b2.toString('latin1')).toContain('lr\\":0.2'); // meta JSON sits escaped in the header
    await writeFile(p2, Buffer.from(b2.toString('latin1').replace('lr\\":0.2', 'lr\\":0.9'), 'latin1'));
    expect((await ck.loadLatest())!.path).toBe(p1);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(p3);
    expect(warnings[0]).toContain('invalid safetensors file');
    expect(warnings[1]).toContain(p2);
    expect(warnings[1]).toContain('does not match');
  });

  it('throws, naming every file, when no checkpoint is usable', async () => {
    const dir = await tmp();
    const ck = fileCheckpointer(dir, { warn: () => undefined });
    const p = await ck.save(4, payload(4));
    await writeFile(p, new Uint8Array(3));
    await expect(ck.loadLatest()).rejects.toThrow(
      new RegExp(`no usable checkpoint in .*${p}: file is 3 bytes`, 's'),
    );
  });

  it('a failed write (ENOSPC) keeps earlier checkpoints intact, removes the temp file and says why', async () => {
    const dir = await tmp();
    const good = fileCheckpointer(dir, { keepLast: 1 });
    const p1 = await good.save(1, payload(1));
    const before = await readFile(p1);
    const full = fileCheckpointer(dir, {
      keepLast: 1,
      writeOps: {
        // Half the bytes reach the disk, then it is full.
        write: async (handle, data) => {
          await handle.write(data, 0, data.length >> 1);
          throw enospc();
        },
      },
    });
    const err = await full.save(2, payload(2)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      /^checkpointing step 2 to .*checkpoint-00000002\.safetensors failed: ENOSPC: no space left on device/,
    );
    expect(((err as Error).cause as { code: string }).code).toBe('ENOSPC');
    expect(await readdir(dir)).toEqual(['checkpoint-00000001.safetensors']); // no temp file, no pruning
    expect(await readFile(p1)).toEqual(before);
    expect((await good.loadLatest())!.step).toBe(1);
  });

  it('a failed rename or fsync leaves the same clean state', async () => {
    const dir = await tmp();
    const p1 = await fileCheckpointer(dir).save(1, payload(1));
    for (const writeOps of [
      { rename: async () => Promise.reject(new Error('EXDEV: rename failed')) },
      { sync: async () => Promise.reject(new Error('EIO: i/o error, fsync')) },
    ]) {
      const ck = fileCheckpointer(dir, { keepLast: 1, writeOps });
      await expect(ck.save(1, payload(99))).rejects.toThrow(/checkpointing step 1 to .* failed: E(XDEV|IO)/);
      expect(await readdir(dir)).toEqual(['checkpoint-00000001.safetensors']);
      expect((await fileCheckpointer(dir).load(basename(p1))).meta).toEqual(payload(1).meta);
    }
  });

  it('rejects bad steps and non-serialisable meta before touching the disk', async () => {
    const dir = await tmp();
    const ck = fileCheckpointer(dir);
    await expect(ck.save(-1, payload(1))).rejects.toThrow(/step must be a non-negative integer, got -1/);
    await expect(ck.save(1.5, payload(1))).rejects.toThrow(/got 1.5/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(ck.save(1, { tensors: new Map(), meta: cyclic })).rejects.toThrow(
      /checkpointing step 1 failed: meta is not JSON-serialisable/,
    );
    await expect(ck.save(1, { tensors: new Map(), meta: undefined })).rejects.toThrow(
      /not JSON-serialisable/,
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
