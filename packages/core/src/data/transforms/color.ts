import type { Image, Rng } from '../../contracts';
import { cloneImage, toRGB } from '../image';
import type { InPlaceTransform } from '../scratch';

/** ITU-R 601 luma weights (PIL's "L" conversion). */
export const LUMA_R = 0.299;
export const LUMA_G = 0.587;
export const LUMA_B = 0.114;

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

// ---------------------------------------------------------------- in-place colour ops (torchvision semantics)

/** x <- clamp(x * f, 0, 1). */
export function adjustBrightnessInPlace(data: Float32Array, factor: number): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] * factor;
    data[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Blend with the mean luma of the whole image: x <- clamp(f * x + (1 - f) * mean, 0, 1). */
export function adjustContrastInPlace(data: Float32Array, channels: number, factor: number): void {
  const n = data.length / channels;
  let sum = 0;
  if (channels === 3) {
    for (let i = 0; i < data.length; i += 3)
      sum += LUMA_R * data[i] + LUMA_G * data[i + 1] + LUMA_B * data[i + 2];
  } else {
    for (let i = 0; i < data.length; i++) sum += data[i];
  }
  const offset = (1 - factor) * (sum / (channels === 3 ? n : data.length));
  for (let i = 0; i < data.length; i++) {
    const v = factor * data[i] + offset;
    data[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Blend each pixel with its own luma: x <- clamp(f * x + (1 - f) * gray, 0, 1). No-op for 1 channel. */
export function adjustSaturationInPlace(data: Float32Array, channels: number, factor: number): void {
  if (channels !== 3) return;
  const g = 1 - factor;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i];
    const gr = data[i + 1];
    const b = data[i + 2];
    const gray = g * (LUMA_R * r + LUMA_G * gr + LUMA_B * b);
    const nr = factor * r + gray;
    const ng = factor * gr + gray;
    const nb = factor * b + gray;
    data[i] = nr < 0 ? 0 : nr > 1 ? 1 : nr;
    data[i + 1] = ng < 0 ? 0 : ng > 1 ? 1 : ng;
    data[i + 2] = nb < 0 ? 0 : nb > 1 ? 1 : nb;
  }
}

/** Rotates hue by `shift` (fraction of a turn, in [-0.5, 0.5]) via HSV, as torchvision's tensor path. */
export function adjustHueInPlace(data: Float32Array, channels: number, shift: number): void {
  if (channels !== 3) return;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i];
    const g = data[i + 1];
    const b = data[i + 2];
    const maxc = r > g ? (r > b ? r : b) : g > b ? g : b;
    const minc = r < g ? (r < b ? r : b) : g < b ? g : b;
    const cr = maxc - minc;
    if (cr === 0) continue; // gray pixel: hue undefined, unchanged
    const s = cr / maxc;
    const rc = (maxc - r) / cr;
    const gc = (maxc - g) / cr;
    const bc = (maxc - b) / cr;
    let h: number;
    if (maxc === r) h = bc - gc;
    else if (maxc === g) h = 2 + rc - bc;
    else h = 4 + gc - rc;
    h = (h / 6 + 1) % 1;
    h = (h + shift) % 1;
    if (h < 0) h += 1;
    hsvToRgbInto(h, s, maxc, data, i);
  }
}

/** RGB of hue h in [0, 1), saturation s and value v, written to out[offset..offset+2]. */
export function hsvToRgbInto(
  h: number,
  s: number,
  v: number,
  out: Float32Array | number[],
  offset = 0,
): void {
  const h6 = h * 6;
  let sector = Math.floor(h6);
  const f = h6 - sector;
  sector = sector % 6;
  let p = v * (1 - s);
  let q = v * (1 - s * f);
  let t = v * (1 - s * (1 - f));
  p = p < 0 ? 0 : p > 1 ? 1 : p;
  q = q < 0 ? 0 : q > 1 ? 1 : q;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  // One switch, no per-pixel arrays: this runs for every pixel of every jittered view.
  switch (sector) {
    case 0:
      out[offset] = v;
      out[offset + 1] = t;
      out[offset + 2] = p;
      break;
    case 1:
      out[offset] = q;
      out[offset + 1] = v;
      out[offset + 2] = p;
      break;
    case 2:
      out[offset] = p;
      out[offset + 1] = v;
      out[offset + 2] = t;
      break;
    case 3:
      out[offset] = p;
      out[offset + 1] = q;
      out[offset + 2] = v;
      break;
    case 4:
      out[offset] = t;
      out[offset + 1] = p;
      out[offset + 2] = v;
      break;
    default:
      out[offset] = v;
      out[offset + 1] = p;
      out[offset + 2] = q;
  }
}

// ---------------------------------------------------------------- transforms

export interface ColorJitterOptions {
  brightness?: number;
  contrast?: number;
  saturation?: number;
  /** At most 0.5 (half a turn). */
  hue?: number;
  /** Probability of applying the jitter at all (RandomApply). */
  p?: number;
}

/**
 * torchvision ColorJitter: factors for brightness/contrast/saturation uniform in
 * [max(0, 1 - x), 1 + x], hue shift uniform in [-h, h]; the four ops run in a random order.
 * A strength of 0 leaves that op out. Wrapped in RandomApply(p).
 */
export class ColorJitter implements InPlaceTransform {
  readonly name = 'color_jitter';
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
  readonly p: number;
  private readonly order = [0, 1, 2, 3];

  constructor(options: ColorJitterOptions = {}) {
    this.brightness = options.brightness ?? 0;
    this.contrast = options.contrast ?? 0;
    this.saturation = options.saturation ?? 0;
    this.hue = options.hue ?? 0;
    this.p = options.p ?? 1;
    for (const key of ['brightness', 'contrast', 'saturation'] as const) {
      if (!(this[key] >= 0)) throw new Error(`color_jitter: ${key} must be >= 0, got ${this[key]}`);
    }
    if (!(this.hue >= 0 && this.hue <= 0.5))
      throw new Error(`color_jitter: hue must be in [0, 0.5], got ${this.hue}`);
  }

  apply(image: Image, rng: Rng): Image {
    return this.run(image, rng, false);
  }

  applyInPlace(image: Image, rng: Rng): Image {
    return this.run(image, rng, true);
  }

  private run(image: Image, rng: Rng, inPlace: boolean): Image {
    if (!(rng.next() < this.p)) return image;
    // torch.randperm(4), then one factor per op (drawn in the fixed order b, c, s, h).
    const order = this.order;
    for (let i = 0; i < 4; i++) order[i] = i;
    for (let i = 3; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    const b = this.brightness > 0 ? rng.uniform(Math.max(0, 1 - this.brightness), 1 + this.brightness) : -1;
    const c = this.contrast > 0 ? rng.uniform(Math.max(0, 1 - this.contrast), 1 + this.contrast) : -1;
    const s = this.saturation > 0 ? rng.uniform(Math.max(0, 1 - this.saturation), 1 + this.saturation) : -1;
    const h = this.hue > 0 ? rng.uniform(-this.hue, this.hue) : 0;
    const out = inPlace ? image : cloneImage(image);
    const data = out.data;
    const C = out.channels;
    for (let k = 0; k < 4; k++) {
      const op = order[k];
      if (op === 0 && b >= 0) adjustBrightnessInPlace(data, b);
      else if (op === 1 && c >= 0) adjustContrastInPlace(data, C, c);
      else if (op === 2 && s >= 0) adjustSaturationInPlace(data, C, s);
      else if (op === 3 && this.hue > 0) adjustHueInPlace(data, C, h);
    }
    return out;
  }
}

/** With probability p, replaces RGB by its luma (0.299 R + 0.587 G + 0.114 B), keeping 3 channels. */
export class RandomGrayscale implements InPlaceTransform {
  readonly name = 'random_grayscale';
  constructor(readonly p = 0.1) {}

  apply(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p) || image.channels !== 3) return image;
    return grayscaleInPlace(cloneImage(image));
  }

  applyInPlace(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p) || image.channels !== 3) return image;
    return grayscaleInPlace(image);
  }
}

/** A luma copy of an RGB image (3 equal channels). */
export function grayscale(image: Image): Image {
  return grayscaleInPlace(cloneImage(image));
}

export function grayscaleInPlace(image: Image): Image {
  const data = image.data;
  for (let i = 0; i < data.length; i += 3) {
    const l = LUMA_R * data[i] + LUMA_G * data[i + 1] + LUMA_B * data[i + 2];
    data[i] = l;
    data[i + 1] = l;
    data[i + 2] = l;
  }
  return image;
}

/** With probability p, inverts every value >= threshold (x -> 1 - x). */
export class Solarize implements InPlaceTransform {
  readonly name = 'solarize';
  constructor(
    readonly p = 0.5,
    readonly threshold = 0.5,
  ) {}

  apply(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p)) return image;
    return this.solarize(cloneImage(image));
  }

  applyInPlace(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p)) return image;
    return this.solarize(image);
  }

  private solarize(image: Image): Image {
    const data = image.data;
    const th = this.threshold;
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v >= th) data[i] = 1 - v;
    }
    return image;
  }
}

/** Replicates 1-channel images to 3 channels. */
export class ToRGB implements InPlaceTransform {
  readonly name = 'to_rgb';
  apply(image: Image): Image {
    return toRGB(image);
  }
  applyInPlace(image: Image): Image {
    return toRGB(image);
  }
}

/** (x - mean[c]) / std[c]; a 1-channel image is replicated to 3 channels first when mean has 3 values. */
export class Normalize implements InPlaceTransform {
  readonly name = 'normalize';
  readonly mean: readonly number[];
  readonly std: readonly number[];

  constructor(mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD) {
    if (mean.length !== std.length || mean.length === 0) {
      throw new Error(
        `normalize: mean and std need the same non-zero length, got ${mean.length} and ${std.length}`,
      );
    }
    if (std.some((s) => !(s > 0))) throw new Error(`normalize: std values must be > 0, got [${std}]`);
    this.mean = mean;
    this.std = std;
  }

  apply(image: Image): Image {
    // toRGB already copies a 1-channel image.
    const img = image.channels === 1 && this.mean.length === 3 ? toRGB(image) : cloneImage(image);
    return this.normalize(img);
  }

  applyInPlace(image: Image): Image {
    return this.normalize(image.channels === 1 && this.mean.length === 3 ? toRGB(image) : image);
  }

  private normalize(img: Image): Image {
    const C = img.channels;
    if (this.mean.length !== C && this.mean.length !== 1) {
      throw new Error(`normalize: ${this.mean.length} mean values for an image with ${C} channels`);
    }
    const data = img.data;
    if (C === 3 && this.mean.length === 3) {
      const m0 = this.mean[0];
      const m1 = this.mean[1];
      const m2 = this.mean[2];
      const s0 = 1 / this.std[0];
      const s1 = 1 / this.std[1];
      const s2 = 1 / this.std[2];
      for (let i = 0; i < data.length; i += 3) {
        data[i] = (data[i] - m0) * s0;
        data[i + 1] = (data[i + 1] - m1) * s1;
        data[i + 2] = (data[i + 2] - m2) * s2;
      }
    } else {
      for (let i = 0; i < data.length; i++) {
        const k = this.mean.length === 1 ? 0 : i % C;
        data[i] = (data[i] - this.mean[k]) / this.std[k];
      }
    }
    return img;
  }
}
