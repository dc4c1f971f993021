import { describe, expect, it } from 'vitest';
import type { Image, Rng } from '../../src/contracts';
import { SeededRng } from '../../src/util/random';
import {
  adjustBrightnessInPlace,
  adjustContrastInPlace,
  adjustHueInPlace,
  adjustSaturationInPlace,
  blurKernelSize,
  ColorJitter,
  flipHorizontal,
  GaussianBlur,
  gaussianBlur,
  gaussianKernel1d,
  grayscale,
  HorizontalFlip,
  Normalize,
  RandomGrayscale,
  RandomResizedCrop,
  randomResizedCropBox,
  reflectIndex,
  resizedCrop,
  resizeImage,
  Solarize,
  toRGB,
} from '../../src/data';

const img = (h: number, w: number, c: number, values: number[]): Image => ({
  data: Float32Array.from(values),
  height: h,
  width: w,
  channels: c,
});

/** Rng that replays fixed values, so a transform's random decisions are pinned. */
class FixedRng implements Rng {
  private i = 0;
  constructor(private readonly values: number[]) {}
  next(): number {
    return this.values[this.i++ % this.values.length];
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  normal(): number {
    return 0;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

const close = (a: ArrayLike<number>, b: number[], digits = 5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) expect(a[i]).toBeCloseTo(b[i], digits);
};

describe('flip', () => {
  it('mirrors columns and keeps channels together', () => {
    // 1x3, 2 channels
    const out = flipHorizontal(img(1, 3, 2, [1, 2, 3, 4, 5, 6]));
    expect(Array.from(out.data)).toEqual([5, 6, 3, 4, 1, 2]);
  });
  it('applies with probability p and leaves the input untouched', () => {
    const input = img(2, 2, 1, [1, 2, 3, 4]);
    const flipped = new HorizontalFlip(0.5).apply(input, new FixedRng([0.4]));
    expect(Array.from(flipped.data)).toEqual([2, 1, 4, 3]);
    expect(Array.from(input.data)).toEqual([1, 2, 3, 4]);
    const same = new HorizontalFlip(0.5).apply(input, new FixedRng([0.6]));
    expect(Array.from(same.data)).toEqual([1, 2, 3, 4]);
  });
});

describe('grayscale', () => {
  it('uses ITU-R 601 luma and keeps 3 channels', () => {
    const out = grayscale(img(1, 2, 3, [1, 0, 0, 0.2, 0.4, 0.6]));
    const l2 = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6;
    close(out.data, [0.299, 0.299, 0.299, l2, l2, l2]);
    expect(out.channels).toBe(3);
    const t = new RandomGrayscale(0.2);
    expect(t.apply(img(1, 1, 3, [1, 0, 0]), new FixedRng([0.1])).data[1]).toBeCloseTo(0.299, 6);
    expect(Array.from(t.apply(img(1, 1, 3, [1, 0, 0]), new FixedRng([0.3])).data)).toEqual([1, 0, 0]);
  });
});

describe('normalize / toRGB', () => {
  it('subtracts mean and divides by std per channel', () => {
    const out = new Normalize([0.5, 0.25, 0], [0.5, 0.25, 2]).apply(img(1, 1, 3, [1, 0.5, 1]));
    close(out.data, [1, 1, 0.5]);
  });
  it('uses ImageNet statistics by default and replicates gray input to 3 channels', () => {
    const out = new Normalize().apply(img(1, 1, 1, [0.5]));
    expect(out.channels).toBe(3);
    close(out.data, [(0.5 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.5 - 0.406) / 0.225]);
    expect(Array.from(toRGB(img(1, 2, 1, [0.1, 0.9])).data)).toEqual(
      [0.1, 0.1, 0.1, 0.9, 0.9, 0.9].map(Math.fround),
    );
  });
  it('rejects a channel mismatch', () => {
    expect(() => new Normalize([0.5, 0.5], [1, 1]).apply(img(1, 1, 3, [0, 0, 0]))).toThrow(
      /2 mean values.*3 channels/,
    );
  });
});

describe('solarize', () => {
  it('inverts values at or above the threshold', () => {
    const out = new Solarize(1, 0.5).apply(img(1, 4, 1, [0.2, 0.5, 0.75, 1]), new FixedRng([0]));
    close(out.data, [0.2, 0.5, 0.25, 0]);
    const kept = new Solarize(0.2, 0.5).apply(img(1, 1, 1, [0.9]), new FixedRng([0.5]));
    expect(kept.data[0]).toBeCloseTo(0.9, 6);
  });
});

describe('colour ops (torchvision semantics)', () => {
  it('brightness scales and clamps', () => {
    const d = Float32Array.from([0.2, 0.5, 0.8]);
    adjustBrightnessInPlace(d, 1.5);
    close(d, [0.3, 0.75, 1]);
  });
  it('contrast blends with the mean luma', () => {
    // two pixels: black and white; mean luma 0.5
    const d = Float32Array.from([0, 0, 0, 1, 1, 1]);
    adjustContrastInPlace(d, 3, 0.5);
    close(d, [0.25, 0.25, 0.25, 0.75, 0.75, 0.75]);
  });
  it('saturation 0 gives gray, 2 doubles the distance from gray (clamped)', () => {
    const d = Float32Array.from([0.6, 0.4, 0.2]);
    const l = 0.299 * 0.6 + 0.587 * 0.4 + 0.114 * 0.2;
    const g = d.slice();
    adjustSaturationInPlace(g, 3, 0);
    close(g, [l, l, l]);
    adjustSaturationInPlace(d, 3, 2);
    close(d, [2 * 0.6 - l, 2 * 0.4 - l, Math.max(0, 2 * 0.2 - l)]);
  });
  it('hue rotates by a fraction of a turn', () => {
    const d = Float32Array.from([1, 0, 0, 0.5, 0.5, 0.5, 0, 0, 1]);
    adjustHueInPlace(d, 3, 1 / 3);
    // red -> green, gray unchanged, blue -> red
    close(d, [0, 1, 0, 0.5, 0.5, 0.5, 1, 0, 0]);
    const e = Float32Array.from([0.8, 0.4, 0.2]);
    adjustHueInPlace(e, 3, -0.5);
    // opposite hue keeps max/min: h=1/18 -> 10/18, (0.2, 0.6, 0.8)
    close(e, [0.2, 0.6, 0.8]);
  });
  it('ColorJitter with only brightness applies factor uniform in [1-b, 1+b]', () => {
    // draws: p check 0, permutation (3 draws), brightness u=0.625 -> 0.2 + 1.6 * 0.625 = 1.2
    const t = new ColorJitter({ brightness: 0.8, p: 1 });
    const out = t.apply(img(1, 2, 3, [0.5, 0.25, 0, 1, 0.1, 0.2]), new FixedRng([0, 0, 0, 0, 0.625]));
    close(out.data, [0.6, 0.3, 0, 1, 0.12, 0.24]);
  });
  it('ColorJitter is deterministic for a seed and skipped when p fails', () => {
    const input = img(2, 2, 3, [0.1, 0.5, 0.9, 0.3, 0.3, 0.3, 0.9, 0.2, 0.4, 0, 1, 0.5]);
    const t = new ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 });
    const a = t.apply(input, new SeededRng(7));
    const b = t.apply(input, new SeededRng(7));
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(t.apply(input, new FixedRng([0.9]))).toBe(input);
  });
});

describe('resize', () => {
  it('same size is an exact copy', () => {
    const input = img(2, 3, 1, [1, 2, 3, 4, 5, 6]);
    expect(Array.from(resizeImage(input, 2, 3).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
  it('upsampling 2 -> 4 is half-pixel bilinear with edge clamping', () => {
    close(resizeImage(img(1, 2, 1, [0, 1]), 1, 4).data, [0, 0.25, 0.75, 1]);
  });
  it('downsampling 4 -> 2 uses the widened (antialias) triangle filter', () => {
    // centers 1 and 3 in input coords, support 2: weights (3/7, 3/7, 1/7) and mirrored
    const out = resizeImage(img(1, 4, 1, [0, 1, 2, 3]), 1, 2);
    close(out.data, [(0 * 3 + 1 * 3 + 2 * 1) / 7, (1 * 1 + 2 * 3 + 3 * 3) / 7]);
  });
  it('crops before resizing', () => {
    const input = img(3, 3, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(resizedCrop(input, 1, 1, 2, 2, 2, 2).data)).toEqual([4, 5, 7, 8]);
  });
});

describe('RandomResizedCrop', () => {
  it('returns the output size for any input', () => {
    const t = new RandomResizedCrop({ size: [12, 10] });
    const rng = new SeededRng(1);
    for (const [h, w] of [
      [7, 9],
      [40, 30],
      [64, 64],
    ]) {
      const out = t.apply({ data: new Float32Array(h * w * 3), height: h, width: w, channels: 3 }, rng);
      expect([out.height, out.width, out.channels, out.data.length]).toEqual([12, 10, 3, 360]);
    }
  });
  it('samples boxes inside the image within the scale and ratio bounds', () => {
    const rng = new SeededRng(3);
    const H = 200;
    const W = 300;
    const bad: string[] = [];
    for (let i = 0; i < 500; i++) {
      const b = randomResizedCropBox(H, W, [0.2, 1], [3 / 4, 4 / 3], rng);
      const area = (b.height * b.width) / (H * W);
      const ratio = b.width / b.height;
      const inside = b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W;
      // bounds widened by the integer rounding of h and w
      if (!inside || area < 0.19 || area > 1 || ratio < 0.74 || ratio > 1.35) bad.push(JSON.stringify(b));
    }
    expect(bad).toEqual([]);
  });
  it('falls back to a center crop clamped to the ratio range', () => {
    // 10x100 strip: any crop of >= 90% area is far wider than 4/3, so all 10 tries fail.
    const b = randomResizedCropBox(10, 100, [0.9, 1], [3 / 4, 4 / 3], new SeededRng(0));
    expect(b).toEqual({ height: 10, width: 13, top: 0, left: 43 });
  });
  it('a constant image stays constant', () => {
    const input = { data: new Float32Array(20 * 30 * 3).fill(0.3), height: 20, width: 30, channels: 3 };
    const out = new RandomResizedCrop({ size: 8 }).apply(input, new SeededRng(5));
    for (const v of out.data) expect(v).toBeCloseTo(0.3, 6);
  });
});

describe('gaussian blur', () => {
  it('kernel sums to 1 and matches exp(-x^2/2s^2)', () => {
    const k = gaussianKernel1d(5, 1);
    const raw = [-2, -1, 0, 1, 2].map((x) => Math.exp(-0.5 * x * x));
    const s = raw.reduce((a, b) => a + b);
    close(
      k,
      raw.map((v) => v / s),
      6,
    );
    expect(blurKernelSize(224)).toBe(23);
    expect(blurKernelSize(32)).toBe(3);
    expect(blurKernelSize(64)).toBe(7);
  });
  it('reflect padding mirrors without repeating the edge', () => {
    expect([-2, -1, 0, 3, 4, 5].map((i) => reflectIndex(i, 4))).toEqual([2, 1, 0, 3, 2, 1]);
  });
  it('preserves a constant image and the mass of an interior impulse', () => {
    const c = { data: new Float32Array(9 * 11 * 3).fill(0.7), height: 9, width: 11, channels: 3 };
    const out = new GaussianBlur({ sigma: [1.5, 1.5], kernelSize: 5 }).apply(c, new SeededRng(0));
    for (const v of out.data) expect(v).toBeCloseTo(0.7, 5);
    const d = new Float32Array(11 * 11);
    d[5 * 11 + 5] = 1;
    const blurred = gaussianBlur({ data: d, height: 11, width: 11, channels: 1 }, gaussianKernel1d(5, 1));
    expect(blurred.data.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    const k = gaussianKernel1d(5, 1);
    expect(blurred.data[5 * 11 + 5]).toBeCloseTo(k[2] * k[2], 6);
    expect(blurred.data[4 * 11 + 7]).toBeCloseTo(k[1] * k[4], 6);
  });
  it('dropping negligible end taps of a small sigma changes nothing measurable', () => {
    const rng = new SeededRng(9);
    const im = {
      data: new Float32Array(30 * 30 * 3).map(() => rng.next()),
      height: 30,
      width: 30,
      channels: 3,
    };
    const t = new GaussianBlur({ sigma: [0.4, 0.4], kernelSize: 23 });
    const fast = t.apply(im, new SeededRng(0));
    const full = gaussianBlur(im, gaussianKernel1d(23, 0.4));
    let maxDiff = 0;
    for (let i = 0; i < full.data.length; i++)
      maxDiff = Math.max(maxDiff, Math.abs(fast.data[i] - full.data[i]));
    expect(maxDiff).toBeLessThan(1e-6);
  });
  it('reflects at the border: an edge impulse doubles its mirrored taps', () => {
    const d = new Float32Array(5);
    d[0] = 1;
    const k = gaussianKernel1d(3, 1);
    const out = gaussianBlur({ data: d, height: 1, width: 5, channels: 1 }, k);
    // x=1 sees x=0 through its left tap; x=0 sees only itself (its left tap reflects to x=1, which is 0)
    close(out.data, [k[1], k[0], 0, 0, 0]);
  });
});
