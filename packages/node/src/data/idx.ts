import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset, Sample } from '@selfsup/core';
import { imageFromUint8 } from '@selfsup/core';
import { exists, maybeGunzip, requireDirectory } from './files';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Parses an IDX file (MNIST format): two zero bytes, a type code (0x08 = unsigned byte, the only
 * one supported), the number of dimensions, then each dimension as a big-endian int32, then data.
 * Gzipped input is detected by its magic bytes.
 */
export function parseIdx(input: Uint8Array, source = 'IDX data'): IdxArray {
  const bytes = maybeGunzip(input);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${source}: not an IDX file (expected magic 00 00 <type> <ndims>)`);
  }
  if (bytes[2] !== 0x08) {
    throw new Error(
      `${source}: IDX type 0x${bytes[2].toString(16)} is not supported (expected 0x08, unsigned byte)`,
    );
  }
  const ndims = bytes[3];
  const header = 4 + 4 * ndims;
  if (ndims < 1 || bytes.length < header) throw new Error(`${source}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let total = 1;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    total *= n;
  }
  if (bytes.length < header + total) {
    throw new Error(
      `${source}: IDX data truncated: dims [${dims}] need ${total} bytes, found ${bytes.length - header}`,
    );
  }
  return { dims, data: bytes.subarray(header, header + total) };
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Debian's dataset-fashion-mnist package installs the gzipped IDX files here. */
export const DEFAULT_FASHION_MNIST_PATH = '/usr/share/datasets/fashion-mnist';

export interface MnistOptions {
  path: string;
  split?: 'train' | 'test';
  /** Use only the first `limit` samples. */
  limit?: number;
}

/** Finds `<prefix>-<kind>` with either '-' or '.' before idx, with or without .gz. */
async function findIdxFile(
  dir: string,
  prefix: string,
  kind: 'images-idx3' | 'labels-idx1',
): Promise<string | undefined> {
  const dotted = kind.replace('-', '.');
  for (const base of [`${prefix}-${kind}-ubyte`, `${prefix}-${dotted}-ubyte`]) {
    for (const name of [`${base}.gz`, base]) {
      const p = join(dir, name);
      if (await exists(p)) return p;
    }
  }
  return undefined;
}

/** MNIST-format dataset (MNIST, Fashion-MNIST): 1-channel float images and labels. */
export class MnistDataset implements Dataset {
  readonly length: number;
  readonly numClasses = 10;

  private constructor(
    readonly name: string,
    readonly classNames: string[],
    private readonly pixels: Uint8Array,
    private readonly labels: Uint8Array,
    readonly height: number,
    readonly width: number,
    length: number,
  ) {
    this.length = length;
  }

  static async load(name: string, classNames: string[], options: MnistOptions): Promise<MnistDataset> {
    const split = options.split ?? 'train';
    await requireDirectory(options.path, name);
    const prefix = split === 'train' ? 'train' : 't10k';
    const imagesPath = await findIdxFile(options.path, prefix, 'images-idx3');
    const labelsPath = await findIdxFile(options.path, prefix, 'labels-idx1');
    if (!imagesPath || !labelsPath) {
      throw new Error(
        `${name}: '${options.path}' lacks ${prefix}-images-idx3-ubyte[.gz] and/or ${prefix}-labels-idx1-ubyte[.gz] (split '${split}')`,
      );
    }
    const images = parseIdx(new Uint8Array(await readFile(imagesPath)), imagesPath);
    const labels = parseIdx(new Uint8Array(await readFile(labelsPath)), labelsPath);
    if (images.dims.length !== 3)
      throw new Error(`${imagesPath}: expected 3 dims [N, H, W], got [${images.dims}]`);
    if (labels.dims.length !== 1) throw new Error(`${labelsPath}: expected 1 dim [N], got [${labels.dims}]`);
    if (images.dims[0] !== labels.dims[0]) {
      throw new Error(
        `${name}: ${imagesPath} has ${images.dims[0]} images but ${labelsPath} has ${labels.dims[0]} labels`,
      );
    }
    for (let i = 0; i < labels.data.length; i++) {
      if (labels.data[i] >= 10)
        throw new Error(`${labelsPath}: label ${labels.data[i]} at index ${i} is not in 0..9`);
    }
    const length = Math.min(images.dims[0], options.limit ?? Infinity);
    return new MnistDataset(
      name,
      classNames,
      images.data,
      labels.data,
      images.dims[1],
      images.dims[2],
      length,
    );
  }

  async get(index: number): Promise<Sample> {
    return this.getSync(index);
  }

  getSync(index: number): Sample {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`${this.name}: index ${index} out of range [0, ${this.length})`);
    }
    const plane = this.height * this.width;
    return {
      image: imageFromUint8(this.pixels, this.height, this.width, 1, index * plane),
      label: this.labels[index],
    };
  }
}
