import type { Image } from '../contracts';

/** A zero-filled image. */
export function createImage(height: number, width: number, channels: number): Image {
  return { data: new Float32Array(height * width * channels), height, width, channels };
}

export function cloneImage(image: Image): Image {
  return { data: image.data.slice(), height: image.height, width: image.width, channels: image.channels };
}

/** 1/255 steps, so uint8 -> float conversion is one table lookup per byte. */
export const UINT8_TO_FLOAT: Float32Array = (() => {
  const t = new Float32Array(256);
  for (let i = 0; i < 256; i++) t[i] = i / 255;
  return t;
})();

/** Interleaved uint8 HWC bytes -> float image in [0, 1]. */
export function imageFromUint8(
  bytes: Uint8Array,
  height: number,
  width: number,
  channels: number,
  offset = 0,
): Image {
  const n = height * width * channels;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = UINT8_TO_FLOAT[bytes[offset + i]];
  return { data, height, width, channels };
}

/** Planar uint8 CHW bytes (CIFAR layout) -> float HWC image in [0, 1]. */
export function imageFromPlanarUint8(
  bytes: Uint8Array,
  height: number,
  width: number,
  channels: number,
  offset = 0,
): Image {
  const plane = height * width;
  const data = new Float32Array(plane * channels);
  for (let c = 0; c < channels; c++) {
    const src = offset + c * plane;
    for (let p = 0, o = c; p < plane; p++, o += channels) data[o] = UINT8_TO_FLOAT[bytes[src + p]];
  }
  return { data, height, width, channels };
}

/** Replicates a 1-channel image to 3 channels; 3-channel images are returned as they are. */
export function toRGB(image: Image): Image {
  if (image.channels === 3) return image;
  if (image.channels !== 1) {
    throw new Error(`toRGB: expected an image with 1 or 3 channels, got ${image.channels}`);
  }
  const n = image.height * image.width;
  const src = image.data;
  const data = new Float32Array(n * 3);
  for (let p = 0, o = 0; p < n; p++, o += 3) {
    const v = src[p];
    data[o] = v;
    data[o + 1] = v;
    data[o + 2] = v;
  }
  return { data, height: image.height, width: image.width, channels: 3 };
}

/** Throws when `image`'s buffer does not match its declared shape. */
export function assertImage(image: Image, where: string): void {
  const { height, width, channels, data } = image;
  if (!(height > 0 && width > 0 && channels > 0) || data.length !== height * width * channels) {
    throw new Error(
      `${where}: malformed image ${height}x${width}x${channels} with ${data.length} values (expected H*W*C)`,
    );
  }
}
