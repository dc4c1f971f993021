import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileDatasetRegistrations as datasetRegistrations, ImageFolderDataset } from '../src';

const tmp = mkdtempSync(join(tmpdir(), 'selfsup-folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Solid-colour image file (PNG or JPEG by extension). */
async function solid(path: string, w: number, h: number, rgb: [number, number, number], channels: 3 | 4 = 3) {
  const px = new Uint8Array(w * h * channels);
  for (let i = 0; i < w * h; i++) {
    px.set(channels === 4 ? [...rgb, 255] : rgb, i * channels);
  }
  const s = sharp(px, { raw: { width: w, height: h, channels } });
  await (path.endsWith('.png') ? s.png() : s.jpeg({ quality: 95 })).toFile(path);
}

const dir = (...p: string[]) => {
  const d = join(tmp, ...p);
  mkdirSync(d, { recursive: true });
  return d;
};

beforeAll(async () => {
  // labelled: classes "cat" (PNG + RGBA PNG) and "dog" (JPEG, nested subfolder)
  await solid(join(dir('labelled', 'cat'), 'a.png'), 6, 4, [255, 0, 0]);
  await solid(join(dir('labelled', 'cat'), 'b.png'), 6, 4, [0, 0, 255], 4);
  await solid(join(dir('labelled', 'dog', 'sub'), 'c.jpg'), 6, 4, [0, 255, 0]);
  writeFileSync(join(tmp, 'labelled', 'dog', 'notes.txt'), 'not an image');
  // flat, with a grayscale PNG
  const flat = dir('flat');
  await solid(join(flat, 'x.jpeg'), 5, 5, [128, 128, 128]);
  await sharp(new Uint8Array(25).fill(200), { raw: { width: 5, height: 5, channels: 1 } })
    .png()
    .toFile(join(flat, 'y.png'));
  // corrupt: garbage with a .png name
  const bad = dir('bad');
  await solid(join(bad, 'good.png'), 4, 4, [10, 20, 30]);
  writeFileSync(join(bad, 'broken.png'), Buffer.from('definitely not a png file'));
  // PNG with a damaged pixel stream: header readable, pixels not
  const trunc = dir('trunc');
  await solid(join(trunc, 'a.png'), 64, 64, [50, 100, 150]);
  const noise = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7919) % 251);
  const png = await sharp(noise, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
  for (let i = 200; i < 260; i++) png[i] ^= 0xff;
  writeFileSync(join(trunc, 'b.png'), png);
  // mixed sizes
  const mixed = dir('mixed');
  await solid(join(mixed, 'a.png'), 8, 8, [0, 0, 0]);
  await solid(join(mixed, 'b.png'), 8, 8, [0, 0, 0]);
  await solid(join(mixed, 'c.png'), 10, 6, [0, 0, 0]);
  dir('empty');
});

describe('image_folder', () => {
  it('labels from sorted class folders, decodes PNG/JPEG/RGBA to RGB floats', async () => {
    const ds = await ImageFolderDataset.load({ path: join(tmp, 'labelled') });
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(ds.length).toBe(3);
    const a = await ds.get(0);
    expect(a.label).toBe(0);
    expect([a.image.height, a.image.width, a.image.channels]).toEqual([4, 6, 3]);
    expect(Array.from(a.image.data.slice(0, 3))).toEqual([1, 0, 0]);
    const b = await ds.get(1);
    expect(Array.from(b.image.data.slice(0, 3))).toEqual([0, 0, 1]);
    const c = await ds.get(2);
    expect(c.label).toBe(1);
    expect(c.image.data[1]).toBeGreaterThan(0.9); // JPEG green, lossy
    expect(c.image.data[0]).toBeLessThan(0.1);
  });
  it('a flat folder is unlabelled; gray images come out as 3 equal channels; resize applies', async () => {
    const reg = datasetRegistrations.find((r) => r.type === 'image_folder')!;
    const ds = await reg.create({ path: join(tmp, 'flat'), resize: 3 });
    expect(ds.classNames).toBeUndefined();
    const y = await ds.get(1);
    expect(y.label).toBeUndefined();
    expect([y.image.height, y.image.width, y.image.channels]).toEqual([3, 3, 3]);
    for (const v of y.image.data) expect(v).toBeCloseTo(200 / 255, 2);
  });
  it('corrupt images fail naming the path, or are skipped and counted', async () => {
    await expect(ImageFolderDataset.load({ path: join(tmp, 'bad') })).rejects.toThrow(
      /cannot read image '.*broken\.png'/,
    );
    const ds = await ImageFolderDataset.load({ path: join(tmp, 'bad'), onBadImage: 'skip' });
    expect(ds.length).toBe(1);
    expect(ds.badImages).toEqual([join(tmp, 'bad', 'broken.png')]);
  });
  it('an image that fails to decode in get() fails, or is replaced by the next good one', async () => {
    const failing = await ImageFolderDataset.load({ path: join(tmp, 'trunc') });
    expect(failing.length).toBe(2);
    await expect(failing.get(1)).rejects.toThrow(/cannot decode '.*b\.png'/);
    const skipping = await ImageFolderDataset.load({ path: join(tmp, 'trunc'), onBadImage: 'skip' });
    const s = await skipping.get(1);
    expect(s.image.data[2]).toBeCloseTo(150 / 255, 1); // a.png stands in
    expect(skipping.badImages).toEqual([join(tmp, 'trunc', 'b.png')]);
  });
  it('mixed sizes without resize name two differing files and their sizes', async () => {
    await expect(ImageFolderDataset.load({ path: join(tmp, 'mixed') })).rejects.toThrow(
      /'.*a\.png' is 8x8 and '.*c\.png' is 10x6 \(WxH\); set the 'resize' option/,
    );
    const ds = await ImageFolderDataset.load({ path: join(tmp, 'mixed'), resize: [4, 5], cacheSize: 2 });
    const s = await ds.get(2);
    expect([s.image.height, s.image.width]).toEqual([4, 5]);
    expect(await ds.get(2)).toStrictEqual(s);
  });
  it('missing and empty folders are named', async () => {
    await expect(ImageFolderDataset.load({ path: join(tmp, 'missing') })).rejects.toThrow(
      /path '.*missing' does not exist/,
    );
    await expect(ImageFolderDataset.load({ path: join(tmp, 'empty') })).rejects.toThrow(
      /no .* images found in '.*empty'/,
    );
  });
});
