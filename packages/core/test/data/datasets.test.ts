import { describe, expect, it } from 'vitest';
import { ClutteredDataset, datasetRegistrations, shapeSdf } from '../../src/data';

describe('cluttered', () => {
  it('is deterministic per (seed, split, index) and independent of access order', async () => {
    const a = new ClutteredDataset({ count: 50, seed: 3 });
    const b = new ClutteredDataset({ count: 50, seed: 3 });
    const late = a.generate(17);
    b.generate(0);
    expect(Array.from(b.generate(17).image.data)).toEqual(Array.from(late.image.data));
    expect(Array.from((await b.get(17)).mask!)).toEqual(Array.from(late.mask!));
    const other = new ClutteredDataset({ count: 50, seed: 4 }).generate(17);
    expect(Array.from(other.image.data)).not.toEqual(Array.from(late.image.data));
    const test = new ClutteredDataset({ count: 50, seed: 3, split: 'test' }).generate(17);
    expect(Array.from(test.image.data)).not.toEqual(Array.from(late.image.data));
  });
  it('masks hold class + 1 where the object is, and the object stands out from the background', () => {
    const S = 32;
    const ds = new ClutteredDataset({ count: 40, imageSize: S });
    for (let i = 0; i < 40; i++) {
      const { sample, objects } = ds.render(i);
      const { image, mask, label } = sample;
      expect(label).toBe(i % 10);
      const obj = objects[0];
      let inside = 0;
      let dist = 0;
      let bgDist = 0;
      let bgCount = 0;
      let badValue = 0;
      let farFromCenter = 0;
      for (let p = 0; p < S * S; p++) {
        const m = mask![p];
        if (m !== 0 && m !== label! + 1) badValue++;
        const dc = Math.hypot(
          image.data[p * 3] - obj.color[0],
          image.data[p * 3 + 1] - obj.color[1],
          image.data[p * 3 + 2] - obj.color[2],
        );
        if (m) {
          inside++;
          dist += dc;
          // object pixels lie within the object's extent around its center
          const x = (p % S) + 0.5 - obj.cx;
          const y = Math.floor(p / S) + 0.5 - obj.cy;
          if (Math.hypot(x, y) > obj.radius * 1.2 + 1) farFromCenter++;
        } else {
          bgDist += dc;
          bgCount++;
        }
      }
      expect([badValue, farFromCenter]).toEqual([0, 0]);
      expect(inside).toBeGreaterThan(8);
      // mask pixels carry the object's colour (up to shading/noise); background does not
      expect(dist / inside).toBeLessThan(0.2);
      expect(bgDist / bgCount).toBeGreaterThan(dist / inside + 0.15);
    }
  });
  it('shape signed distances are negative at the center of solid shapes and positive far away', () => {
    for (let s = 0; s < 10; s++) {
      expect(shapeSdf(s, 3, 3)).toBeGreaterThan(1);
      if (s !== 4 && s !== 9) expect(shapeSdf(s, 0, 0)).toBeLessThan(0);
    }
    expect(shapeSdf(4, 0, 0)).toBeGreaterThan(0); // ring has a hole
    expect(shapeSdf(0, 0.85, 0)).toBeCloseTo(0, 6);
  });
  it('objects take palette colours, the background is greyed by backgroundChroma, sizes follow objectScale', () => {
    const ds = new ClutteredDataset({ count: 60, palette: 3, backgroundChroma: 0, objectScale: [0.3, 0.31] });
    const hues = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const { sample, objects } = ds.render(i);
      const c = objects[0].color;
      // hue k/3 at saturation 0.8, value 0.9: one channel 0.9, the others 0.18 or interpolated
      expect(Math.max(...c)).toBeCloseTo(0.9, 6);
      hues.add(c.map((v) => v.toFixed(3)).join());
      expect(objects[0].radius / 32).toBeGreaterThanOrEqual(0.3);
      expect(objects[0].radius / 32).toBeLessThanOrEqual(0.31);
      // grey background: far from object and distractors the channels are equal up to noise
      const corner = [0, 31, 32 * 31, 32 * 32 - 1].filter((p) => sample.mask![p] === 0);
      let spread = 0;
      for (const p of corner) {
        const px = sample.image.data.subarray(p * 3, p * 3 + 3);
        spread += Math.max(...px) - Math.min(...px);
      }
      expect(spread / Math.max(1, corner.length)).toBeLessThan(0.35);
    }
    expect(hues.size).toBe(3);
    const anyColour = new ClutteredDataset({ count: 20, palette: 0 });
    const free = new Set(Array.from({ length: 20 }, (_, i) => anyColour.render(i).objects[0].color.join()));
    expect(free.size).toBe(20);
  });
  it('rejects out-of-range palette, backgroundChroma, objectScale and distractors, naming the option', () => {
    expect(() => new ClutteredDataset({ palette: -1 })).toThrow(/palette/);
    expect(() => new ClutteredDataset({ backgroundChroma: 2 })).toThrow(/backgroundChroma/);
    expect(() => new ClutteredDataset({ objectScale: [0.4, 0.2] })).toThrow(/objectScale/);
    expect(() => new ClutteredDataset({ distractors: [3, 1] })).toThrow(/distractors/);
  });
  it('registration applies defaults and rejects unknown keys and too many classes', async () => {
    const reg = datasetRegistrations.find((r) => r.type === 'cluttered')!;
    const ds = await reg.create({ count: 5 });
    expect([ds.length, ds.numClasses, (await ds.get(0)).image.height]).toEqual([5, 10, 32]);
    await expect(reg.create({ numClasses: 11 })).rejects.toThrow(/numClasses/);
    await expect(reg.create({ size: 3 })).rejects.toThrow(/size/);
  });
});
