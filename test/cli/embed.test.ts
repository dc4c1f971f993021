/**
 * `selfsup embed`: backbone features of a folder of images or of the config's dataset, to
 * safetensors, npy (+ rows.jsonl, labels.npy) or jsonl, with file names, indices and labels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Normalize,
  ResNet,
  decodeCheckpoint,
  imagesToTensor,
  importStateDict,
  parseSafetensorsWithMetadata,
  tf,
  type SafetensorsTensor,
} from '@selfsup/core';
import { ImageFolderDataset } from '@selfsup/node';
import { ensureDir, errorLines, readJsonLines, runCli, tmpDir, writePng, trainTinyRun } from './helpers';

let dir: string;
let runDir: string;
let images: string;
let ckpt: Map<string, SafetensorsTensor>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = tmpDir('embed');
  const trained = await trainTinyRun(dir, 'byol');
  runDir = trained.runDir;
  ckpt = decodeCheckpoint(readFileSync(trained.checkpointFile), trained.checkpointFile).tensors;
  images = join(dir, 'images');
  const colours: Array<[string, [number, number, number]]> = [
    ['cat/a.png', [200, 30, 30]],
    ['cat/b.png', [180, 60, 20]],
    ['cat/c.png', [220, 10, 90]],
    ['dog/a.png', [20, 40, 200]],
    ['dog/b.png', [10, 90, 160]],
  ];
  for (const [name, rgb] of colours) {
    ensureDir(join(images, name.split('/')[0]));
    await writePng(join(images, name), 20, 12, rgb);
  }
}, 300_000);

/** The features embed must give, computed here: same decoding, ImageNet normalisation, GAP. */
async function expectedFeatures(
  folder: string,
  prefix: string,
): Promise<{ data: Float32Array; dim: number }> {
  const ds = await ImageFolderDataset.load({ path: folder, resize: 16 });
  const normalize = new Normalize();
  const imgs = await Promise.all(
    Array.from({ length: ds.length }, async (_, i) => normalize.apply((await ds.get(i)).image)),
  );
  const net = new ResNet({ block: 'basic', blocks: [1, 1], widths: [4, 8], stem: 'cifar', seed: 0 });
  try {
    importStateDict(net.stateEntries(), ckpt, { prefix });
    net.eval();
    const x = imagesToTensor(imgs);
    const f = tf.tidy(() => tf.mean(net.forward(x), [1, 2]));
    const data = f.dataSync() as Float32Array;
    tf.dispose([x, f]);
    return { data, dim: 8 };
  } finally {
    net.dispose();
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Reads a .npy file written by embed (format 1.0, C order). */
function readNpy(path: string): { descr: string; shape: number[]; values: number[] } {
  const bytes = readFileSync(path);
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]))).toBe(true);
  const headerLength = bytes.readUInt16LE(8);
  expect((10 + headerLength) % 64).toBe(0);
  const header = bytes.subarray(10, 10 + headerLength).toString('latin1');
  const descr = /'descr': '([^']+)'/.exec(header)![1];
  const shape = /'shape': \(([^)]*)\)/
    .exec(header)![1]
    .split(',')
    .filter((s) => s.trim())
    .map(Number);
  expect(header).toContain("'fortran_order': False");
  const data = bytes.subarray(10 + headerLength);
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const values =
    descr === '<f4' ? Array.from(new Float32Array(ab)) : Array.from(new BigInt64Array(ab), Number);
  return { descr, shape, values };
}

describe('selfsup embed', () => {
  it('a folder with class subfolders to safetensors: features, file names, labels, classes', async () => {
    const out = join(dir, 'emb.safetensors');
    const r = await runCli([
      'embed',
      '--checkpoint',
      runDir,
      '--images',
      images,
      '--out',
      out,
      '--backend',
      'cpu',
      '--batch-size',
      '2',
    ]);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`embedded 5 images of ${images} -> 8-d features: ${out}`);
    const { tensors, metadata } = parseSafetensorsWithMetadata(readFileSync(out), out);
    expect(tensors.get('features')!.shape).toEqual([5, 8]);
    expect(tensors.get('labels')).toMatchObject({
      dtype: 'I64',
      shape: [5],
      data: new Float32Array([0, 0, 0, 1, 1]),
    });
    expect(tensors.get('indices')).toMatchObject({ dtype: 'I64', data: new Float32Array([0, 1, 2, 3, 4]) });
    expect(JSON.parse(metadata['selfsup.files'])).toEqual([
      'cat/a.png',
      'cat/b.png',
      'cat/c.png',
      'dog/a.png',
      'dog/b.png',
    ]);
    expect(JSON.parse(metadata['selfsup.classes'])).toEqual(['cat', 'dog']);
    expect(metadata).toMatchObject({
      'selfsup.step': '4',
      'selfsup.part': 'backbone',
      'selfsup.normalize': 'false',
    });
    const want = await expectedFeatures(images, 'model.online.backbone');
    expect(maxDiff(tensors.get('features')!.data, want.data)).toBeLessThan(1e-6);
  });

  it('npy (+ rows.jsonl, labels.npy) and jsonl hold the same rows; --normalize gives unit rows', async () => {
    const npy = join(dir, 'emb.npy');
    const jsonl = join(dir, 'emb.jsonl');
    for (const out of [npy, jsonl]) {
      const r = await runCli([
        'embed',
        '--checkpoint',
        runDir,
        '--images',
        images,
        '--out',
        out,
        '--backend',
        'cpu',
        '--normalize',
      ]);
      expect(errorLines(r.stderr), r.stderr).toEqual([]);
    }
    const raw = await expectedFeatures(images, 'model.online.backbone');
    const unit = raw.data.map((v, i) => {
      const row = raw.data.subarray(Math.floor(i / 8) * 8, Math.floor(i / 8) * 8 + 8);
      return v / Math.hypot(...row);
    });
    const f = readNpy(npy);
    expect(f).toMatchObject({ descr: '<f4', shape: [5, 8] });
    expect(maxDiff(f.values, unit)).toBeLessThan(1e-6);
    expect(readNpy(join(dir, 'emb.labels.npy'))).toEqual({
      descr: '<i8',
      shape: [5],
      values: [0, 0, 0, 1, 1],
    });
    expect(readJsonLines(join(dir, 'emb.rows.jsonl'))[3]).toEqual({
      index: 3,
      file: 'dog/a.png',
      label: 1,
      class: 'dog',
    });
    const lines = readJsonLines(jsonl);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatchObject({ index: 0, file: 'cat/a.png', label: 0, class: 'cat' });
    // 9 significant digits read back to the same float32.
    expect(lines.flatMap((l) => l.features as number[]).map(Math.fround)).toEqual(f.values);
  });

  it("the config's dataset: --split test by dataset index with labels; --what target", async () => {
    const out = join(dir, 'test-split.safetensors');
    const r = await runCli([
      'embed',
      '--checkpoint',
      runDir,
      '--split',
      'test',
      '--what',
      'target',
      '--out',
      out,
      '--backend',
      'cpu',
    ]);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    const { tensors, metadata } = parseSafetensorsWithMetadata(readFileSync(out), out);
    // data.testCount 16 held-out images of 4 classes.
    expect(tensors.get('features')!.shape).toEqual([16, 8]);
    expect(Array.from(tensors.get('indices')!.data)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    const labels = Array.from(tensors.get('labels')!.data);
    expect(labels.every((l) => l >= 0 && l < 4)).toBe(true);
    expect(metadata['selfsup.files']).toBeUndefined();
    expect(metadata['selfsup.part']).toBe('target');
    expect(metadata['selfsup.source']).toMatch(/^cluttered \(test: /);
  });

  it('--what target embeds the target network, not the online one', async () => {
    const out = join(dir, 'target.safetensors');
    await runCli([
      'embed',
      '--checkpoint',
      runDir,
      '--images',
      images,
      '--what',
      'target',
      '--out',
      out,
      '--backend',
      'cpu',
    ]);
    const got = parseSafetensorsWithMetadata(readFileSync(out)).tensors.get('features')!.data;
    const target = await expectedFeatures(images, 'model.target.backbone');
    const online = await expectedFeatures(images, 'model.online.backbone');
    expect(maxDiff(got, target.data)).toBeLessThan(1e-6);
    expect(maxDiff(got, online.data)).toBeGreaterThan(1e-4);
  });

  it('a folder of files only: no labels; errors name the bad output, part or split', async () => {
    const flat = join(dir, 'flat');
    ensureDir(flat);
    await writePng(join(flat, 'x.png'), 16, 16, [1, 2, 3]);
    const out = join(dir, 'flat.safetensors');
    expect(
      (await runCli(['embed', '--checkpoint', runDir, '--images', flat, '--out', out, '--backend', 'cpu']))
        .code,
    ).toBe(0);
    const { tensors, metadata } = parseSafetensorsWithMetadata(readFileSync(out), out);
    expect(tensors.has('labels')).toBe(false);
    expect(JSON.parse(metadata['selfsup.files'])).toEqual(['x.png']);

    const bad = async (args: string[]) => {
      const r = await runCli(['embed', '--checkpoint', runDir, ...args]);
      expect(r.code).toBe(2);
      return errorLines(r.stderr).join('\n');
    };
    expect(await bad(['--out', join(dir, 'x.csv')])).toContain(
      'expected a file ending .safetensors, .npy, .jsonl',
    );
    expect(await bad(['--out', out, '--what', 'online'])).toContain(
      '--what online: expected backbone or target',
    );
    expect(await bad(['--out', out, '--split', 'val'])).toContain('--split val: expected train or test');
  });
});
