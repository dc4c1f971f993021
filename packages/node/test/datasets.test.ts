import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CifarDataset,
  fileDatasetRegistrations as datasetRegistrations,
  MnistDataset,
  MNIST_CLASSES,
  parseCifarBinary,
  parseIdx,
} from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'selfsup-data-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function idx(dims: number[], data: number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

describe('IDX parser', () => {
  it('reads dims and bytes, raw or gzipped', () => {
    const bytes = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    for (const input of [bytes, new Uint8Array(gzipSync(bytes))]) {
      const { dims, data } = parseIdx(input);
      expect(dims).toEqual([2, 2, 3]);
      expect(Array.from(data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    }
  });
  it('rejects other types and truncated data with the source named', () => {
    const bad = idx([3], [1, 2, 3]);
    bad[2] = 0x0d;
    expect(() => parseIdx(bad, 'x.idx')).toThrow(/x\.idx: IDX type 0xd/);
    expect(() => parseIdx(idx([4], [1, 2]), 'y.idx')).toThrow(/y\.idx: IDX data truncated/);
    expect(() => parseIdx(Uint8Array.from([1, 2, 3, 4]), 'z')).toThrow(/not an IDX file/);
  });
});

describe('mnist / fashion_mnist', () => {
  const dir = join(tmp, 'mnist');
  mkdirSync(dir);
  // 3 train images of 2x2 (gz), 1 test image (raw, dotted name variant).
  writeFileSync(
    join(dir, 'train-images-idx3-ubyte.gz'),
    gzipSync(idx([3, 2, 2], [0, 255, 51, 102, 1, 2, 3, 4, 9, 9, 9, 9])),
  );
  writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], [7, 0, 9])));
  writeFileSync(join(dir, 't10k-images.idx3-ubyte'), idx([1, 2, 2], [255, 0, 0, 255]));
  writeFileSync(join(dir, 't10k-labels.idx1-ubyte'), idx([1], [3]));

  it('loads gz train split as 1-channel float images', async () => {
    const ds = await MnistDataset.load('mnist', MNIST_CLASSES, { path: dir });
    expect(ds.length).toBe(3);
    const s = await ds.get(0);
    expect(s.label).toBe(7);
    expect([s.image.height, s.image.width, s.image.channels]).toEqual([2, 2, 1]);
    expect(Array.from(s.image.data)).toEqual([0, 1, 0.2, 0.4].map(Math.fround));
    expect((await ds.get(2)).label).toBe(9);
  });
  it('loads the raw test split and registration validates options', async () => {
    const reg = datasetRegistrations.find((r) => r.type === 'fashion_mnist')!;
    const ds = await reg.create({ path: dir, split: 'test' });
    expect(ds.length).toBe(1);
    expect(ds.classNames?.[3]).toBe('Dress');
    expect((await ds.get(0)).label).toBe(3);
    await expect(reg.create({ path: dir, split: 'val' })).rejects.toThrow(/split/);
    await expect(reg.create({ path: dir, bogus: 1 })).rejects.toThrow(/bogus/);
  });
  it('names the missing folder or files', async () => {
    await expect(MnistDataset.load('mnist', MNIST_CLASSES, { path: join(tmp, 'nope') })).rejects.toThrow(
      /path '.*nope' does not exist/,
    );
    await expect(MnistDataset.load('mnist', MNIST_CLASSES, { path: tmp })).rejects.toThrow(
      /train-images-idx3-ubyte/,
    );
  });
});

function cifarRecords(labels: number[][]): Uint8Array {
  const rec = labels[0].length + 3072;
  const out = new Uint8Array(labels.length * rec);
  labels.forEach((l, i) => {
    out.set(l, i * rec);
    // R plane = 10*i, G plane = pixel index mod 256, B plane = 200
    for (let p = 0; p < 1024; p++) {
      out[i * rec + l.length + p] = 10 * i;
      out[i * rec + l.length + 1024 + p] = p % 256;
      out[i * rec + l.length + 2048 + p] = 200;
    }
  });
  return out;
}

describe('cifar', () => {
  it('parses records and rejects a partial record', () => {
    const r = parseCifarBinary(cifarRecords([[1], [2]]), 1);
    expect(r.count).toBe(2);
    expect(() => parseCifarBinary(new Uint8Array(3074), 1, 'f.bin')).toThrow(/f\.bin: 3074 bytes/);
  });
  it('cifar10 reads the five train batches in order and converts CHW to HWC', async () => {
    const dir = join(tmp, 'cifar10', 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (let k = 1; k <= 5; k++)
      writeFileSync(join(dir, `data_batch_${k}.bin`), cifarRecords([[k], [k + 1]]));
    writeFileSync(join(dir, 'test_batch.bin'), cifarRecords([[9]]));
    const ds = await CifarDataset.load('cifar10', { path: join(tmp, 'cifar10') });
    expect(ds.length).toBe(10);
    expect(ds.classNames?.[0]).toBe('airplane');
    const s = await ds.get(5); // batch 3, record 1
    expect(s.label).toBe(4);
    const px = 40; // row 1, col 8
    expect(s.image.data[px * 3]).toBeCloseTo(10 / 255, 6);
    expect(s.image.data[px * 3 + 1]).toBeCloseTo(40 / 255, 6);
    expect(s.image.data[px * 3 + 2]).toBeCloseTo(200 / 255, 6);
    const test = await CifarDataset.load('cifar10', { path: dir, split: 'test' });
    expect(test.length).toBe(1);
    expect((await test.get(0)).label).toBe(9);
  });
  it('cifar100 picks fine or coarse label bytes and checks ranges', async () => {
    const dir = join(tmp, 'cifar100');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'train.bin'),
      cifarRecords([
        [3, 77],
        [19, 5],
      ]),
    );
    const fine = await CifarDataset.load('cifar100', { path: dir });
    expect([(await fine.get(0)).label, (await fine.get(1)).label, fine.numClasses]).toEqual([77, 5, 100]);
    const coarse = await CifarDataset.load('cifar100', { path: dir, labelType: 'coarse' });
    expect([(await coarse.get(0)).label, coarse.numClasses]).toEqual([3, 20]);
    writeFileSync(join(dir, 'test.bin'), cifarRecords([[25, 1]]));
    await expect(
      CifarDataset.load('cifar100', { path: dir, split: 'test', labelType: 'coarse' }),
    ).rejects.toThrow(/test\.bin: record 0 has label 25/);
  });
});
