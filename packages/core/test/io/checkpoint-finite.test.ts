import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../src/util/sha256';
import {
  CHECKPOINT_FORMAT,
  Checkpointer,
  decodeCheckpoint,
  serializeSafetensors,
  encodeCheckpoint,
  findNonFinite,
  MemoryCheckpointStorage,
} from '../../src/io';

const tensors = (w: number[]) => ({
  'a.bias': { shape: [2], data: new Float32Array([0.5, -0.5]) },
  'b.weight': { shape: [w.length], data: new Float32Array(w) },
});

describe('checkpoints with NaN or Inf', () => {
  it('finds the first non-finite value in name order, and counts them', () => {
    expect(findNonFinite(Object.entries(tensors([1, 2, 3])))).toBeUndefined();
    expect(findNonFinite(Object.entries(tensors([1, Infinity, NaN, -Infinity])))).toEqual({
      tensor: 'b.weight',
      index: 1,
      value: Infinity,
      count: 3,
    });
    // Largest finite float32 values are finite.
    expect(
      findNonFinite([['x', { data: new Float32Array([3.4028234663852886e38, -3.4028234663852886e38]) }]]),
    ).toBeUndefined();
  });

  it('encoding refuses them, so a bad state never replaces (and prunes) good checkpoints', async () => {
    expect(() => encodeCheckpoint(3, { tensors: tensors([1, NaN]), meta: {} })).toThrow(
      'checkpointing step 3 refused: tensor b.weight holds NaN at element 1; the existing checkpoints are kept',
    );
    const storage = new MemoryCheckpointStorage();
    const ck = new Checkpointer(storage, { keepLast: 1 });
    await ck.save(1, { tensors: tensors([1, 2]), meta: {} });
    await expect(ck.save(2, { tensors: tensors([-Infinity, 2]), meta: {} })).rejects.toThrow(
      'tensor b.weight holds -Infinity at element 0',
    );
    expect((await ck.list()).map((c) => c.step)).toEqual([1]);
  });

  it('decoding a file with a valid checksum but NaN inside names the file and the tensor; loadLatest falls back', async () => {
    const storage = new MemoryCheckpointStorage('mem');
    await storage.write(
      'checkpoint-00000005.safetensors',
      encodeCheckpoint(5, { tensors: tensors([1, 2]), meta: {} }),
    );
    const forged = forge(6, { m: 1 }, tensors([1, NaN]));
    expect(decodeCheckpoint(forge(6, { m: 1 }, tensors([1, 2])), 'sane').step).toBe(6); // the forger is right
    expect(() => decodeCheckpoint(forged, 'mem/x')).toThrow(
      'checkpoint mem/x is unusable: tensor b.weight holds NaN at element 1',
    );
    await storage.write('checkpoint-00000006.safetensors', forged);
    const warnings: string[] = [];
    const ck = new Checkpointer(storage, { warn: (m) => warnings.push(m) });
    expect((await ck.loadLatest())!.step).toBe(5);
    expect(warnings).toEqual([
      'skipping unusable checkpoint mem/checkpoint-00000006.safetensors (checkpoint mem/checkpoint-00000006.safetensors ' +
        'is unusable: tensor b.weight holds NaN at element 1); falling back to mem/checkpoint-00000005.safetensors',
    ]);
  });
});

/** The documented file format written without the codec's refusal (as another tool could). */
function forge(
  step: number,
  meta: unknown,
  t: Record<string, { shape: number[]; data: Float32Array }>,
): Uint8Array {
  const metaJson = JSON.stringify(meta);
  const entries = Object.entries(t).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const hash = new Sha256().update(`${JSON.stringify([CHECKPOINT_FORMAT, step, metaJson])}\n`);
  for (const [name, x] of entries)
    hash.update(`${JSON.stringify([name, 'F32', x.shape])}\n`).update(new Uint8Array(x.data.buffer));
  return serializeSafetensors(new Map(entries), {
    'selfsup.format': CHECKPOINT_FORMAT,
    'selfsup.step': String(step),
    'selfsup.meta': metaJson,
    'selfsup.sha256': hash.digest(),
  });
}
