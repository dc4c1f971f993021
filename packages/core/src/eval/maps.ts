import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { tf } from '../tf';
import type { Dataset, Image, Method } from '../contracts';
import { allIndices, imagesToTensor, sampleBatches } from './features';

/** Alignment maps [B, K, h, w] as plain data (row-major), or a tensor of that shape. */
export interface MapsData {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** A binary object mask at image resolution: non-zero = object. */
export interface ObjectMask {
  data: ArrayLike<number>;
  height: number;
  width: number;
}

export interface MapMassScore {
  /** Mean over slots (and images) of the fraction of a map's mass that falls on the object mask. */
  massOnMask: number;
  /** Mean fraction of the image the mask covers: what a uniform map would put on it. */
  areaFraction: number;
  /** massOnMask / areaFraction: > 1 when maps concentrate on objects. */
  lift: number;
  /** Per slot k: mass on mask averaged over images. */
  perSlotMass: number[];
  /** Images scored (images with an empty mask are skipped: they have no object to look at). */
  images: number;
}

function toMapsData(maps: MapsData | tf.Tensor4D): MapsData {
  if (maps instanceof tf.Tensor) {
    return { data: maps.dataSync() as Float32Array, shape: maps.shape as [number, number, number, number] };
  }
  const [b, k, h, w] = maps.shape;
  if (maps.data.length !== b * k * h * w) {
    throw new Error(`alignment maps: ${maps.data.length} values for shape [${maps.shape.join(', ')}]`);
  }
  return maps;
}

/**
 * Fraction of each mask cell covered by the object, on the h x w map grid: mask pixel (y, x)
 * falls in cell (floor(y h / H), floor(x w / W)), so this is exact area weighting when H, W
 * are multiples of h, w, and a close one otherwise.
 */
export function maskCoverage(mask: ObjectMask, h: number, w: number): Float64Array {
  const { height: H, width: W } = mask;
  if (mask.data.length !== H * W) throw new Error(`object mask: ${mask.data.length} values for ${H}x${W}`);
  const hits = new Float64Array(h * w);
  const count = new Float64Array(h * w);
  for (let y = 0; y < H; y++) {
    const cy = Math.floor((y * h) / H);
    for (let x = 0; x < W; x++) {
      const cell = cy * w + Math.floor((x * w) / W);
      count[cell]++;
      if (mask.data[y * W + x] !== 0) hits[cell]++;
    }
  }
  for (let i = 0; i < hits.length; i++) hits[i] = count[i] > 0 ? hits[i] / count[i] : 0;
  return hits;
}

/**
 * How much of each alignment map's mass lies on the object, against the object's area: for
 * image b and slot k, mass = sum(map * coverage) / sum(map); averaged over slots and images.
 */
export function mapMassScore(maps: MapsData | tf.Tensor4D, masks: ObjectMask[]): MapMassScore {
  const { data, shape } = toMapsData(maps);
  const [B, K, h, w] = shape;
  if (masks.length !== B) throw new Error(`map score: ${masks.length} masks for ${B} images of maps`);
  const perSlot = new Float64Array(K);
  let area = 0;
  let images = 0;
  for (let b = 0; b < B; b++) {
    const m = masks[b];
    let objectPixels = 0;
    for (let i = 0; i < m.data.length; i++) if (m.data[i] !== 0) objectPixels++;
    if (objectPixels === 0) continue;
    const cov = maskCoverage(m, h, w);
    for (let k = 0; k < K; k++) {
      const off = (b * K + k) * h * w;
      let total = 0;
      let on = 0;
      for (let i = 0; i < h * w; i++) {
        total += data[off + i];
        on += data[off + i] * cov[i];
      }
      if (!(total > 0))
        throw new Error(`alignment map of image ${b}, slot ${k} has mass ${total}; expected > 0`);
      perSlot[k] += on / total;
    }
    area += objectPixels / m.data.length;
    images++;
  }
  if (images === 0) return { massOnMask: NaN, areaFraction: NaN, lift: NaN, perSlotMass: [], images: 0 };
  const perSlotMass = Array.from(perSlot, (s) => s / images);
  const massOnMask = perSlotMass.reduce((a, s) => a + s, 0) / K;
  const areaFraction = area / images;
  return { massOnMask, areaFraction, lift: massOnMask / areaFraction, perSlotMass, images };
}

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

export interface EvaluateMapsOptions {
  batchSize?: number;
  /** Network preprocessing (normalisation); must keep the image size, since masks are at image resolution. */
  transform?: (image: Image) => Image;
  /** Write the grid PNG of the first batch here. */
  outDir?: string;
  grid?: MapGridOptions;
}

/**
 * Scores a method's alignment maps on a dataset with per-pixel masks (non-zero = object): the
 * map-mass score over all images, and optionally a grid PNG of the first batch.
 */
export async function evaluateAlignmentMaps(
  method: Method,
  dataset: Dataset,
  opts: EvaluateMapsOptions = {},
): Promise<MapMassScore & { grid?: string }> {
  if (!method.alignmentMaps) throw new Error(`method '${method.type}' makes no alignment maps`);
  const transform = opts.transform ?? ((im: Image) => im);
  let perSlot: number[] = [];
  let area = 0;
  let images = 0;
  let grid: string | undefined;
  for await (const { samples, indices } of sampleBatches(
    dataset,
    allIndices(dataset.length),
    opts.batchSize ?? 16,
  )) {
    const masks = samples.map((s, j): ObjectMask => {
      if (!s.mask) throw new Error(`map score: sample ${indices[j]} of ${dataset.name} has no mask`);
      return { data: s.mask, height: s.image.height, width: s.image.width };
    });
    const x = imagesToTensor(
      samples.map((s) => transform(s.image)),
      `alignment maps on ${dataset.name}`,
    );
    const maps = method.alignmentMaps(x);
    x.dispose();
    let data: MapsData;
    try {
      data = { data: (await maps.data()) as Float32Array, shape: maps.shape as MapsData['shape'] };
    } finally {
      maps.dispose();
    }
    const s = mapMassScore(data, masks);
    if (s.images > 0) {
      if (perSlot.length === 0) perSlot = new Array<number>(s.perSlotMass.length).fill(0);
      s.perSlotMass.forEach((m, k) => (perSlot[k] += m * s.images));
      area += s.areaFraction * s.images;
      images += s.images;
    }
    if (opts.outDir && grid === undefined) {
      grid = await writeMapGrid(
        samples.map((smp) => smp.image),
        data,
        opts.outDir,
        opts.grid,
      );
    }
  }
  if (images === 0)
    return { massOnMask: NaN, areaFraction: NaN, lift: NaN, perSlotMass: [], images: 0, grid };
  const perSlotMass = perSlot.map((m) => m / images);
  const massOnMask = perSlotMass.reduce((a, m) => a + m, 0) / perSlotMass.length;
  const areaFraction = area / images;
  return { massOnMask, areaFraction, lift: massOnMask / areaFraction, perSlotMass, images, grid };
}
