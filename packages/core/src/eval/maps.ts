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

/**
 * Each slot's lift (its mass on the object over the object's area): LEWEL's slots divide the
 * image between them, so the mean lift mixes slots on the object with slots on the background.
 */
export function slotLifts(score: Pick<MapMassScore, 'perSlotMass' | 'areaFraction'>): number[] {
  return score.perSlotMass.map((m) => m / score.areaFraction);
}

export function toMapsData(maps: MapsData | tf.Tensor4D): MapsData {
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

export interface EvaluateMapsOptions {
  batchSize?: number;
  /** Network preprocessing (normalisation); must keep the image size, since masks are at image resolution. */
  transform?: (image: Image) => Image;
  /** Draws the first batch (images un-normalised, with their maps), e.g. @selfsup/node's writeMapGrid; returns where. */
  drawFirstBatch?: (images: Image[], maps: MapsData) => Promise<string>;
}

/**
 * Scores a method's alignment maps on a dataset with per-pixel masks (non-zero = object): the
 * map-mass score over all images, and optionally a picture of the first batch.
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
    if (opts.drawFirstBatch && grid === undefined) {
      grid = await opts.drawFirstBatch(
        samples.map((smp) => smp.image),
        data,
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
