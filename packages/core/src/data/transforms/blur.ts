import type { Image, Rng } from '../../contracts';
import { cloneImage } from '../image';
import { scratch, type InPlaceTransform } from '../scratch';

/** torchvision's 1-D Gaussian kernel: exp(-x^2 / 2 sigma^2) at integer offsets, normalised to sum 1. */
export function gaussianKernel1d(
  kernelSize: number,
  sigma: number,
  out = new Float32Array(kernelSize),
): Float32Array {
  const half = (kernelSize - 1) / 2;
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const x = (i - half) / sigma;
    sum += Math.exp(-0.5 * x * x);
  }
  for (let i = 0; i < kernelSize; i++) {
    const x = (i - half) / sigma;
    out[i] = Math.exp(-0.5 * x * x) / sum;
  }
  return out;
}

/** Index of position i in [0, n) under 'reflect' padding (mirror without repeating the edge). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

const offsetCache = new Map<string, Int32Array>();

/** offsets[i * K + k] = reflectIndex(i + k - pad, n) * step, cached: images come in few sizes. */
function tapOffsets(n: number, K: number, pad: number, step: number): Int32Array {
  const key = `${n},${K},${step}`;
  let t = offsetCache.get(key);
  if (!t) {
    if (offsetCache.size > 64) offsetCache.clear();
    t = new Int32Array(n * K);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < K; k++) t[i * K + k] = reflectIndex(i + k - pad, n) * step;
    offsetCache.set(key, t);
  }
  return t;
}

/** Kernel size ~ `fraction` of the side, odd: 2 * floor(fraction / 2 * side) + 1 (23 at 224 px), at least 3. */
export function blurKernelSize(side: number, fraction = 0.1): number {
  return Math.max(3, 2 * Math.floor((fraction / 2) * side) + 1);
}

/** A blurred copy: separable Gaussian with reflect padding (horizontal, then vertical). */
export function gaussianBlur(image: Image, kernel: Float32Array): Image {
  return gaussianBlurInPlace(cloneImage(image), kernel);
}

/** Blurs `image` in place (the horizontal pass goes to a scratch buffer). */
export function gaussianBlurInPlace(image: Image, kernel: Float32Array): Image {
  const { height: H, width: W, channels: C, data: src } = image;
  const K = kernel.length;
  const pad = (K - 1) >> 1;
  // Tap source offsets per output position, so the inner loops have no boundary branches.
  const xIdx = tapOffsets(W, K, pad, C);
  const yIdx = tapOffsets(H, K, pad, W * C);

  const stride = W * C;
  const tmp = scratch(src.length);
  // Interior columns read contiguous shifted rows (no index table); border columns use it.
  const lo = Math.min(pad, W);
  const hi = Math.max(lo, W - pad);
  for (let y = 0; y < H; y++) {
    const row = y * stride;
    if (hi > lo) {
      const a = row + lo * C;
      const b = row + hi * C;
      const w0 = kernel[0];
      const s0 = -pad * C;
      for (let i = a; i < b; i++) tmp[i] = w0 * src[i + s0];
      for (let k = 1; k < K; k++) {
        const w = kernel[k];
        const shift = (k - pad) * C;
        for (let i = a; i < b; i++) tmp[i] += w * src[i + shift];
      }
    }
    for (let x = 0; x < W; x++) {
      if (x === lo && hi > lo) x = hi;
      if (x >= W) break;
      const o = row + x * C;
      const ib = x * K;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += kernel[k] * src[row + xIdx[ib + k] + c];
        tmp[o + c] = acc;
      }
    }
  }
  // Vertical pass from tmp back into the image; the first tap assigns, the rest accumulate.
  const out = src;
  for (let y = 0; y < H; y++) {
    const o = y * stride;
    const ib = y * K;
    const w0 = kernel[0];
    const r0 = yIdx[ib];
    for (let i = 0; i < stride; i++) out[o + i] = w0 * tmp[r0 + i];
    for (let k = 1; k < K; k++) {
      const w = kernel[k];
      const r = yIdx[ib + k];
      for (let i = 0; i < stride; i++) out[o + i] += w * tmp[r + i];
    }
  }
  return image;
}

export interface GaussianBlurOptions {
  p?: number;
  /** Sigma is drawn uniformly from [min, max] (pixels). */
  sigma?: [number, number];
  /** Odd kernel size; by default derived from the image side with `kernelFraction`. */
  kernelSize?: number;
  kernelFraction?: number;
}

/** With probability p, blurs with a Gaussian of random sigma (torchvision GaussianBlur, reflect padding). */
export class GaussianBlur implements InPlaceTransform {
  readonly name = 'gaussian_blur';
  readonly p: number;
  readonly sigma: [number, number];
  readonly kernelSize?: number;
  readonly kernelFraction: number;
  private kernel = new Float32Array(0);

  constructor(options: GaussianBlurOptions = {}) {
    this.p = options.p ?? 1;
    this.sigma = options.sigma ?? [0.1, 2.0];
    this.kernelSize = options.kernelSize;
    this.kernelFraction = options.kernelFraction ?? 0.1;
    if (!(this.sigma[0] > 0 && this.sigma[0] <= this.sigma[1])) {
      throw new Error(`gaussian_blur: sigma must satisfy 0 < min <= max, got [${this.sigma}]`);
    }
    if (this.kernelSize !== undefined && !(this.kernelSize > 0 && this.kernelSize % 2 === 1)) {
      throw new Error(`gaussian_blur: kernelSize must be a positive odd integer, got ${this.kernelSize}`);
    }
  }

  apply(image: Image, rng: Rng): Image {
    return this.run(image, rng, false);
  }

  applyInPlace(image: Image, rng: Rng): Image {
    return this.run(image, rng, true);
  }

  private run(image: Image, rng: Rng, inPlace: boolean): Image {
    if (!(rng.next() < this.p)) return image;
    const sigma = rng.uniform(this.sigma[0], this.sigma[1]);
    const size = this.kernelSize ?? blurKernelSize(Math.min(image.height, image.width), this.kernelFraction);
    if (this.kernel.length !== size) this.kernel = new Float32Array(size);
    const kernel = gaussianKernel1d(size, sigma, this.kernel);
    // Drop end taps whose weight is below float32 resolution (small sigmas in a large kernel):
    // same result to ~1e-7, a fraction of the work.
    let t = 0;
    while (t < (size - 1) / 2 && kernel[t] < 1e-7) t++;
    const used = t > 0 ? kernel.subarray(t, size - t) : kernel;
    return gaussianBlurInPlace(inPlace ? image : cloneImage(image), used);
  }
}
