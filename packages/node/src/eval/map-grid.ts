import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { toMapsData, type Image, type MapsData, type tf } from '@selfsup/core';

let palette: Uint8Array | undefined;

/** 256-entry RGB lookup of the 'turbo' colour scheme from vega-scale. */
async function turboPalette(): Promise<Uint8Array> {
  if (palette) return palette;
  const { scheme } = await import('vega');
  const interp = scheme('turbo') as (t: number) => string;
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const m = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(interp(i / 255));
    if (!m) throw new Error(`unexpected colour '${interp(i / 255)}' from the turbo scheme`);
    lut.set([+m[1], +m[2], +m[3]], i * 3);
  }
  return (palette = lut);
}

/** Float HWC [0, 1] image (1 or 3 channels) to 8-bit RGB. */
function imageToRgb(im: Image): Buffer {
  if (im.channels !== 1 && im.channels !== 3)
    throw new Error(`map grid: image has ${im.channels} channels, expected 1 or 3`);
  const n = im.height * im.width;
  const out = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = im.data[i * im.channels + (im.channels === 1 ? 0 : c)];
      out[i * 3 + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
  }
  return out;
}

export interface MapGridOptions {
  /** Pixel size of each square cell (default 96). */
  cell?: number;
  /** Slots shown per image (the first ones; default 8). */
  maxSlots?: number;
  /** Images shown (default 8). */
  maxImages?: number;
  /** Heatmap opacity over the image (default 0.55). */
  alpha?: number;
  /** File name without extension (default 'alignment_maps'). */
  name?: string;
}

/**
 * Writes `<dir>/<name>.png`: one row per image, the image first, then each slot's map
 * (scaled to its own maximum, coloured with turbo, upsampled bilinearly) composited over the
 * upscaled image. Images are un-normalised float HWC in [0, 1]. Returns the file path.
 */
export async function writeMapGrid(
  images: Image[],
  maps: MapsData | tf.Tensor4D,
  dir: string,
  opts: MapGridOptions = {},
): Promise<string> {
  const { data, shape } = toMapsData(maps);
  const [B, K, h, w] = shape;
  if (images.length !== B) throw new Error(`map grid: ${images.length} images for ${B} images of maps`);
  const cell = opts.cell ?? 96;
  const rows = Math.min(B, opts.maxImages ?? 8);
  const slots = Math.min(K, opts.maxSlots ?? 8);
  const alpha = Math.round(255 * (opts.alpha ?? 0.55));
  const lut = await turboPalette();
  const tiles: sharp.OverlayOptions[] = [];
  for (let b = 0; b < rows; b++) {
    const im = images[b];
    const base = await sharp(imageToRgb(im), { raw: { width: im.width, height: im.height, channels: 3 } })
      .resize(cell, cell, { fit: 'fill', kernel: 'nearest' })
      .raw()
      .toBuffer();
    tiles.push({ input: base, raw: { width: cell, height: cell, channels: 3 }, left: 0, top: b * cell });
    for (let k = 0; k < slots; k++) {
      const off = (b * K + k) * h * w;
      let max = 0;
      for (let i = 0; i < h * w; i++) max = Math.max(max, data[off + i]);
      const gray = Buffer.alloc(h * w);
      for (let i = 0; i < h * w; i++) gray[i] = max > 0 ? Math.round((255 * data[off + i]) / max) : 0;
      const up = await sharp(gray, { raw: { width: w, height: h, channels: 1 } })
        .resize(cell, cell, { fit: 'fill', kernel: 'linear' })
        .extractChannel(0)
        .raw()
        .toBuffer();
      const heat = Buffer.alloc(cell * cell * 4);
      for (let i = 0; i < cell * cell; i++) {
        heat[i * 4] = lut[up[i] * 3];
        heat[i * 4 + 1] = lut[up[i] * 3 + 1];
        heat[i * 4 + 2] = lut[up[i] * 3 + 2];
        heat[i * 4 + 3] = alpha;
      }
      const overlay = await sharp(base, { raw: { width: cell, height: cell, channels: 3 } })
        .composite([{ input: heat, raw: { width: cell, height: cell, channels: 4 } }])
        .removeAlpha()
        .raw()
        .toBuffer();
      tiles.push({
        input: overlay,
        raw: { width: cell, height: cell, channels: 3 },
        left: (k + 1) * cell,
        top: b * cell,
      });
    }
  }
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${opts.name ?? 'alignment_maps'}.png`);
  await sharp({
    create: { width: (slots + 1) * cell, height: rows * cell, channels: 3, background: '#ffffff' },
  })
    .composite(tiles)
    .png()
    .toFile(file);
  return file;
}
