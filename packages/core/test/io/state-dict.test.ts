import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { Module } from '../../src/nn/module';
import { BatchNorm } from '../../src/nn/layers';
import {
  CHECKPOINT_OPTIONAL_BUFFERS,
  exportStateDict,
  importStateDict,
  parseSafetensors,
  serializeSafetensors,
  type TensorData,
} from '../../src/io';

/** conv (tfjs 1x2x1x2), a tokenwise head (3 -> 2), a linear (2 -> 1) with bias and an int32 buffer. */
class Tiny extends Module {
  constructor(fill: (i: number) => number) {
    super();
    const conv = new (class extends Module {
      constructor() {
        super();
        this.registerParameter('weight', tf.tensor4d([1, 3, 2, 4].map(fill), [1, 2, 1, 2]), 'conv2d');
      }
    })();
    this.registerModule('conv', conv);
    this.registerParameter('proj.weight', tf.tensor2d([1, 4, 2, 5, 3, 6].map(fill), [3, 2]), 'tokenwise');
    this.registerParameter('fc.weight', tf.tensor2d([7, 8].map(fill), [2, 1]), 'linear');
    this.registerParameter('fc.bias', tf.tensor1d([9].map(fill)));
    this.registerBuffer('steps', tf.tensor1d([fill(2)], 'int32'));
  }
}

const values = (m: Module) => m.stateEntries().map((e) => [e.name, Array.from(e.variable.dataSync())]);

describe('exportStateDict / importStateDict', () => {
  const made: Module[] = [];
  const make = (fill: (i: number) => number) => {
    const m = new Tiny(fill);
    made.push(m);
    return m;
  };
  afterEach(() => {
    while (made.length) made.pop()!.dispose();
  });

  it('exports PyTorch names, shapes and layouts', () => {
    const sd = exportStateDict(make((v) => v).stateEntries(), 'online.');
    expect([...sd.keys()]).toEqual([
      'online.proj.weight',
      'online.fc.weight',
      'online.fc.bias',
      'online.steps',
      'online.conv.weight',
    ]);
    expect(sd.get('online.conv.weight')).toEqual({
      shape: [2, 1, 1, 2],
      data: new Float32Array([1, 2, 3, 4]),
    });
    expect(sd.get('online.proj.weight')).toEqual({
      shape: [2, 3, 1],
      data: new Float32Array([1, 2, 3, 4, 5, 6]),
    });
    expect(sd.get('online.fc.weight')).toEqual({ shape: [1, 2], data: new Float32Array([7, 8]) });
    expect(sd.get('online.steps')).toEqual({ shape: [1], data: new Float32Array([2]) });
  });

  it('round-trips into a fresh module without leaking tensors', () => {
    const src = make((v) => v * 10);
    const dst = make(() => 0);
    const before = tf.memory().numTensors;
    const result = importStateDict(dst.stateEntries(), exportStateDict(src.stateEntries()));
    expect(result).toEqual({ missing: [], unexpected: [] });
    expect(values(dst)).toEqual(values(src));
    expect(dst.stateEntries().find((e) => e.name === 'steps')!.variable.dtype).toBe('int32');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('strict: one error lists missing, unexpected and mismatched names, and nothing is assigned', () => {
    const dst = make(() => 0);
    const sd = exportStateDict(make((v) => v + 1).stateEntries());
    sd.delete('fc.bias');
    sd.delete('steps');
    sd.set('extra.weight', { shape: [1], data: new Float32Array([1]) });
    sd.set('fc.weight', { shape: [2, 1], data: new Float32Array([1, 2]) });
    sd.set('conv.weight', { shape: [2, 1, 2, 2], data: new Float32Array(8) });
    const before = values(dst);
    let message = '';
    try {
      importStateDict(dst.stateEntries(), sd, { source: 'ckpt.safetensors' });
    } catch (e) {
      message = (e as Error).message;
    }
    const lines = message.split('\n');
    expect(lines[0]).toBe('Error(s) in loading state_dict from ckpt.safetensors:');
    expect(lines).toHaveLength(5); // missing, unexpected, two size mismatches
    expect(message).toContain('Missing key(s) in state_dict: "fc.bias", "steps".');
    expect(message).toContain('Unexpected key(s) in state_dict: "extra.weight".');
    expect(message).toContain(
      'size mismatch for fc.weight: copying a param with shape [2, 1] from checkpoint, the shape in current model is [1, 2].',
    );
    expect(message).toContain(
      'size mismatch for conv.weight: copying a param with shape [2, 1, 2, 2] from checkpoint, the shape in current model is [2, 1, 1, 2].',
    );
    expect(message).not.toContain('proj.weight');
    expect(values(dst)).toEqual(before);
  });

  it('non-strict: returns missing and unexpected, loads the rest; size mismatches still throw', () => {
    const dst = make(() => 0);
    const sd = exportStateDict(make((v) => v + 1).stateEntries());
    sd.delete('fc.bias');
    sd.set('extra', { shape: [1], data: new Float32Array([1]) });
    expect(importStateDict(dst.stateEntries(), sd, { strict: false })).toEqual({
      missing: ['fc.bias'],
      unexpected: ['extra'],
    });
    expect(Array.from(dst.stateEntries()[0].variable.dataSync())).toEqual([2, 5, 3, 6, 4, 7]); // proj.weight (tfjs)
    expect(Array.from(dst.stateEntries()[2].variable.dataSync())).toEqual([0]); // fc.bias untouched

    sd.set('fc.weight', { shape: [3], data: new Float32Array(3) } as TensorData);
    expect(() => importStateDict(dst.stateEntries(), sd, { strict: false })).toThrow(
      /size mismatch for fc.weight/,
    );
  });

  it('prefix: reads prefix.name and ignores keys outside the prefix', () => {
    const dst = make(() => 0);
    const full = new Map([
      ...exportStateDict(make((v) => v * 2).stateEntries(), 'online'),
      ...exportStateDict(make((v) => v * 3).stateEntries(), 'target'),
    ]);
    expect(importStateDict(dst.stateEntries(), full, { prefix: 'target.' })).toEqual({
      missing: [],
      unexpected: [],
    });
    expect(Array.from(dst.stateEntries()[2].variable.dataSync())).toEqual([27]);

    full.set('target.stray', { shape: [1], data: new Float32Array(1) });
    expect(() => importStateDict(dst.stateEntries(), full, { prefix: 'target' })).toThrow(
      /Unexpected key\(s\) in state_dict: "target.stray"\./,
    );
  });

  it('an int64 buffer (BatchNorm num_batches_tracked) exports as I64 and imports back', () => {
    const bn = new BatchNorm(2);
    made.push(bn);
    tf.tidy(() => bn.forward(tf.tensor2d([1, 2, 3, 4], [2, 2])));
    const sd = exportStateDict(bn.stateEntries(), 'bn1');
    expect(sd.get('bn1.num_batches_tracked')).toEqual({
      shape: [],
      data: new Float32Array([1]),
      fileDtype: 'I64',
    });
    expect(sd.get('bn1.running_mean')!.fileDtype).toBeUndefined();
    const dst = new BatchNorm(2);
    made.push(dst);
    importStateDict(dst.stateEntries(), parseSafetensors(serializeSafetensors(sd)), { prefix: 'bn1' });
    expect(Array.from(dst.numBatchesTracked.dataSync())).toEqual([1]);
  });

  it('optionalBuffers: strict import lets only the named buffers be absent, keeping their value', () => {
    const src = new BatchNorm(2);
    const dst = new BatchNorm(2);
    made.push(src, dst);
    src.runningMean.assign(tf.tensor1d([3, 4]));
    const sd = exportStateDict(src.stateEntries());
    sd.delete('num_batches_tracked');
    expect(() => importStateDict(dst.stateEntries(), sd, { source: 'old.safetensors' })).toThrow(
      'Missing key(s) in state_dict: "num_batches_tracked".',
    );
    const result = importStateDict(dst.stateEntries(), sd, { optionalBuffers: CHECKPOINT_OPTIONAL_BUFFERS });
    expect(result.missing).toEqual(['num_batches_tracked']);
    expect(Array.from(dst.runningMean.dataSync())).toEqual([3, 4]);
    expect(Array.from(dst.numBatchesTracked.dataSync())).toEqual([0]);
    // Only buffers: a missing parameter of that name would still be an error, and others too.
    sd.delete('running_var');
    expect(() =>
      importStateDict(dst.stateEntries(), sd, { optionalBuffers: ['num_batches_tracked'] }),
    ).toThrow('Missing key(s) in state_dict: "running_var".');
  });

  it('rejects values that do not fill their declared shape', () => {
    const dst = make(() => 0);
    const sd = exportStateDict(make((v) => v).stateEntries());
    sd.set('fc.bias', { shape: [1], data: new Float32Array(2) });
    expect(() => importStateDict(dst.stateEntries(), sd)).toThrow(
      /bad tensor fc.bias: 2 values for shape \[1\]/,
    );
  });
});
