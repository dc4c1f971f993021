import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '@selfsup/core';
import { evaluateAlignmentMaps, mapMassScore, maskCoverage, type ObjectMask } from '@selfsup/core';
import { writeMapGrid } from '../src';
import type { Dataset, Image, Method } from '@selfsup/core';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** 4x4 mask: the top-left 2x2 block plus pixel (row 0, col 2) are object (5 of 16 pixels). */
const objectMask: ObjectMask = {
  height: 4,
  width: 4,
  data: Uint8Array.from([1, 1, 3, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
};
const emptyMask: ObjectMask = { height: 4, width: 4, data: new Uint8Array(16) };

describe('alignment map scoring', () => {
  it('covers each map cell by the fraction of its pixels on the object', () => {
    expect(Array.from(maskCoverage(objectMask, 2, 2))).toEqual([1, 0.25, 0, 0]);
    // 3x3 mask on a 2x2 grid: rows/cols 0-1 go to cell 0, row/col 2 to cell 1.
    const m: ObjectMask = { height: 3, width: 3, data: Uint8Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1]) };
    expect(Array.from(maskCoverage(m, 2, 2))).toEqual([0.75, 1, 1, 1]);
  });

  it('scores map mass on the mask against its area, by hand', () => {
    // Image 0: slot 0 peaks on the object cell; slot 1 is uniform (and unnormalised: x2).
    // Image 1 has an empty mask and is skipped, whatever its maps say.
    const maps = tf.tensor4d([0.7, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 1, 0, 0, 1, 0], [2, 2, 2, 2]);
    const s = mapMassScore(maps, [objectMask, emptyMask]);
    // slot 0: 0.7 * 1 + 0.1 * 0.25 = 0.725; slot 1: (0.25 + 0.25 * 0.25) = 0.3125 = the area.
    expect(s.images).toBe(1);
    expect(s.perSlotMass[0]).toBeCloseTo(0.725, 6);
    expect(s.perSlotMass[1]).toBeCloseTo(0.3125, 6);
    expect(s.areaFraction).toBeCloseTo(5 / 16, 10);
    expect(s.massOnMask).toBeCloseTo((0.725 + 0.3125) / 2, 6);
    expect(s.lift).toBeCloseTo((0.725 + 0.3125) / 2 / (5 / 16), 5);
    maps.dispose();
    expect(() => mapMassScore({ data: new Float32Array(8), shape: [1, 2, 2, 2] }, [objectMask])).toThrow(
      /image 0, slot 0 has mass 0/,
    );
  });

  it('writes a PNG grid of heatmaps over the images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'selfsup-maps-'));
    dirs.push(dir);
    const grey: Image = { data: new Float32Array(8 * 8 * 3).fill(0.5), height: 8, width: 8, channels: 3 };
    const maps = new Float32Array(2 * 3 * 4 * 4);
    for (let b = 0; b < 2; b++) for (let k = 0; k < 3; k++) maps[(b * 3 + k) * 16 + k] = 1; // slot k peaks at cell k
    const file = await writeMapGrid([grey, grey], { data: maps, shape: [2, 3, 4, 4] }, dir, { cell: 32 });
    expect(file).toBe(join(dir, 'alignment_maps.png'));
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4 * 32, 2 * 32]);
    const px = (x: number, y: number) =>
      Array.from(
        data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3),
      );
    // Column 0 is the image itself (grey 128).
    expect(px(10, 10)).toEqual([128, 128, 128]);
    // Slot 0's hot cell (top-left) is tinted red by turbo's top end; its cold corner blue-black.
    const hot = px(32 + 2, 2);
    const cold = px(32 + 30, 30);
    expect(hot[0]).toBeGreaterThan(hot[2] + 40);
    expect(hot).not.toEqual(cold);
  });

  it('scores a method over a dataset in batches and writes the first batch grid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'selfsup-maps-'));
    dirs.push(dir);
    const one = [0.7, 0.1, 0.1, 0.1, 0.25, 0.25, 0.25, 0.25];
    const seenSizes: number[] = [];
    const method = {
      type: 'fake-maps',
      alignmentMaps: (x: tf.Tensor4D) => {
        seenSizes.push(x.shape[0]);
        return tf.tensor4d(Array(x.shape[0]).fill(one).flat(), [x.shape[0], 2, 2, 2]);
      },
    } as unknown as Method;
    const image: Image = { data: new Float32Array(4 * 4 * 3).fill(0.3), height: 4, width: 4, channels: 3 };
    const masks = [objectMask, emptyMask, objectMask];
    const ds: Dataset = {
      name: 'masks',
      length: 3,
      get: async (i) => ({ image, mask: masks[i].data as Uint8Array }),
    };
    const before = tf.memory().numTensors;
    const s = await evaluateAlignmentMaps(method, ds, {
      batchSize: 2,
      drawFirstBatch: (images, maps) => writeMapGrid(images, maps, dir, { cell: 16 }),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(seenSizes).toEqual([2, 1]);
    expect(s.images).toBe(2);
    expect(s.perSlotMass[0]).toBeCloseTo(0.725, 6);
    expect(s.perSlotMass[1]).toBeCloseTo(0.3125, 6);
    expect(s.lift).toBeCloseTo((0.725 + 0.3125) / 2 / (5 / 16), 5);
    const meta = await sharp(s.grid!).metadata();
    expect([meta.width, meta.height]).toEqual([3 * 16, 2 * 16]);
  });
});
