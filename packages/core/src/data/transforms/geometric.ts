import type { Image, Rng, Transform } from '../../contracts';
import { cloneImage } from '../image';
import { resizedCrop } from '../resize';
import type { InPlaceTransform } from '../scratch';

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface RandomResizedCropOptions {
  /** Output side (square) or [height, width]. */
  size: number | [number, number];
  /** Fraction of the image area the crop covers, [min, max]. */
  scale?: [number, number];
  /** Crop aspect ratio (width / height) range, sampled log-uniformly. */
  ratio?: [number, number];
}

/**
 * torchvision's RandomResizedCrop.get_params: 10 tries at a random area and log-uniform aspect
 * ratio; if none fits, a center crop clamped to the ratio range.
 */
export function randomResizedCropBox(
  height: number,
  width: number,
  scale: readonly [number, number],
  ratio: readonly [number, number],
  rng: Rng,
): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = Math.round(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = Math.round(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Random crop of a random area and aspect ratio, resized (antialiased bilinear) to `size`. */
export class RandomResizedCrop implements Transform {
  readonly name = 'random_resized_crop';
  readonly outHeight: number;
  readonly outWidth: number;
  readonly scale: [number, number];
  readonly ratio: [number, number];

  constructor(options: RandomResizedCropOptions) {
    const size = options.size;
    [this.outHeight, this.outWidth] = typeof size === 'number' ? [size, size] : size;
    this.scale = options.scale ?? [0.2, 1];
    this.ratio = options.ratio ?? [3 / 4, 4 / 3];
    if (!(this.outHeight > 0 && this.outWidth > 0)) {
      throw new Error(`random_resized_crop: size must be positive, got ${JSON.stringify(size)}`);
    }
    if (!(this.scale[0] > 0 && this.scale[0] <= this.scale[1] && this.scale[1] <= 1)) {
      throw new Error(`random_resized_crop: scale must satisfy 0 < min <= max <= 1, got [${this.scale}]`);
    }
    if (!(this.ratio[0] > 0 && this.ratio[0] <= this.ratio[1])) {
      throw new Error(`random_resized_crop: ratio must satisfy 0 < min <= max, got [${this.ratio}]`);
    }
  }

  apply(image: Image, rng: Rng): Image {
    const box = randomResizedCropBox(image.height, image.width, this.scale, this.ratio, rng);
    return resizedCrop(image, box.top, box.left, box.height, box.width, this.outHeight, this.outWidth);
  }
}

/** Mirrors the image left-right with probability p. */
export class HorizontalFlip implements InPlaceTransform {
  readonly name = 'horizontal_flip';
  constructor(readonly p = 0.5) {}

  apply(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p)) return image;
    return flipHorizontalInPlace(cloneImage(image));
  }

  applyInPlace(image: Image, rng: Rng): Image {
    if (!(rng.next() < this.p)) return image;
    return flipHorizontalInPlace(image);
  }
}

/** A left-right mirrored copy. */
export function flipHorizontal(image: Image): Image {
  return flipHorizontalInPlace(cloneImage(image));
}

export function flipHorizontalInPlace(image: Image): Image {
  const { height: H, width: W, channels: C, data } = image;
  const stride = W * C;
  const half = W >> 1;
  for (let y = 0; y < H; y++) {
    const row = y * stride;
    for (let x = 0; x < half; x++) {
      const a = row + x * C;
      const b = row + (W - 1 - x) * C;
      for (let c = 0; c < C; c++) {
        const t = data[a + c];
        data[a + c] = data[b + c];
        data[b + c] = t;
      }
    }
  }
  return image;
}
