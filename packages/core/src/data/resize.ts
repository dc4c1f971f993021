import type { Image } from '../contracts';
import { scratch } from './scratch';

/** Per-output-pixel filter taps along one axis: input start, tap count and weights. Reused across calls. */
class AxisWeights {
  start = new Int32Array(0);
  count = new Int32Array(0);
  weights = new Float32Array(0);
  taps = 0;

  /**
   * Antialiased bilinear (triangle) filter weights, as PIL and torch's `antialias=True` compute
   * them: the filter widens by the downscale factor so shrinking averages every input pixel,
   * and taps are clipped to [from, to) (the crop), then renormalised.
   */
  compute(from: number, to: number, outSize: number): this {
    const scale = (to - from) / outSize;
    const filterScale = Math.max(1, scale);
    const support = filterScale; // triangle support 1, widened when downscaling
    const inv = 1 / filterScale;
    const taps = Math.ceil(support) * 2 + 1;
    if (this.start.length < outSize) {
      this.start = new Int32Array(outSize);
      this.count = new Int32Array(outSize);
    }
    if (this.weights.length < outSize * taps) this.weights = new Float32Array(outSize * taps);
    const { start, count, weights } = this;
    this.taps = taps;
    for (let o = 0; o < outSize; o++) {
      const center = from + (o + 0.5) * scale;
      const lo = Math.max(Math.trunc(center - support + 0.5), from);
      const hi = Math.min(Math.trunc(center + support + 0.5), to);
      const n = Math.min(hi - lo, taps);
      let total = 0;
      for (let k = 0; k < n; k++) {
        const w = Math.max(0, 1 - Math.abs((lo + k - center + 0.5) * inv));
        weights[o * taps + k] = w;
        total += w;
      }
      if (total > 0) for (let k = 0; k < n; k++) weights[o * taps + k] /= total;
      start[o] = lo;
      count[o] = n;
    }
    return this;
  }
}

const horizontal = new AxisWeights();
const vertical = new AxisWeights();

/**
 * Crops rows [top, top+cropH) and columns [left, left+cropW) of `image` and resizes the crop
 * to outH x outW with antialiased bilinear filtering (separable: horizontal, then vertical).
 */
export function resizedCrop(
  image: Image,
  top: number,
  left: number,
  cropH: number,
  cropW: number,
  outH: number,
  outW: number,
): Image {
  const { width, channels: C, data: src } = image;
  if (top < 0 || left < 0 || cropH <= 0 || cropW <= 0 || top + cropH > image.height || left + cropW > width) {
    throw new Error(
      `resizedCrop: crop (top ${top}, left ${left}, ${cropH}x${cropW}) is outside the ${image.height}x${width} image`,
    );
  }
  const hx = horizontal.compute(left, left + cropW, outW);
  const vy = vertical.compute(top, top + cropH, outH);

  // Horizontal pass over the crop's rows into tmp [cropH, outW, C].
  const tmp = scratch(cropH * outW * C);
  const rowStride = width * C;
  for (let y = 0; y < cropH; y++) {
    const rowBase = (top + y) * rowStride;
    const tmpBase = y * outW * C;
    for (let x = 0; x < outW; x++) {
      const s = hx.start[x];
      const n = hx.count[x];
      const wOff = x * hx.taps;
      const o = tmpBase + x * C;
      if (C === 3) {
        // RGB fast path: one pass over the taps for all three channels.
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let p = rowBase + s * 3;
        for (let k = 0; k < n; k++, p += 3) {
          const w = hx.weights[wOff + k];
          a0 += w * src[p];
          a1 += w * src[p + 1];
          a2 += w * src[p + 2];
        }
        tmp[o] = a0;
        tmp[o + 1] = a1;
        tmp[o + 2] = a2;
        continue;
      }
      for (let c = 0; c < C; c++) {
        let acc = 0;
        let p = rowBase + s * C + c;
        for (let k = 0; k < n; k++, p += C) acc += hx.weights[wOff + k] * src[p];
        tmp[o + c] = acc;
      }
    }
  }

  // Vertical pass: tmp rows are indexed relative to `top`.
  const out = new Float32Array(outH * outW * C);
  const tmpStride = outW * C;
  for (let y = 0; y < outH; y++) {
    const s = vy.start[y] - top;
    const n = vy.count[y];
    const wOff = y * vy.taps;
    const o = y * tmpStride;
    for (let k = 0; k < n; k++) {
      const w = vy.weights[wOff + k];
      const r = (s + k) * tmpStride;
      for (let i = 0; i < tmpStride; i++) out[o + i] += w * tmp[r + i];
    }
  }
  return { data: out, height: outH, width: outW, channels: C };
}

/** Resizes the whole image (antialiased bilinear). */
export function resizeImage(image: Image, outH: number, outW: number): Image {
  return resizedCrop(image, 0, 0, image.height, image.width, outH, outW);
}
