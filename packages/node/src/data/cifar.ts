import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dataset, Sample } from '@selfsup/core';
import { imageFromPlanarUint8 } from '@selfsup/core';
import { exists, requireDirectory } from './files';

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

export interface CifarRecords {
  /** Records of `labelBytes + 3072` bytes each, concatenated. */
  bytes: Uint8Array;
  count: number;
  labelBytes: number;
}

/**
 * Checks a CIFAR binary file: records of `labelBytes` label bytes (CIFAR-10: 1; CIFAR-100:
 * coarse then fine) followed by 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32).
 */
export function parseCifarBinary(bytes: Uint8Array, labelBytes: 1 | 2, source = 'CIFAR data'): CifarRecords {
  const record = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new Error(
      `${source}: ${bytes.length} bytes is not a whole number of ${record}-byte CIFAR records (${labelBytes} label byte(s) + 3072 pixels)`,
    );
  }
  return { bytes, count: bytes.length / record, labelBytes };
}

export interface CifarOptions {
  path: string;
  split?: 'train' | 'test';
  /** CIFAR-100 only: 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labelType?: 'fine' | 'coarse';
  limit?: number;
}

/** Looks in `path` and in the archive's usual extracted folder. */
async function resolveDir(path: string, files: string[], subdir: string): Promise<string | undefined> {
  for (const dir of [path, join(path, subdir)]) {
    let all = true;
    for (const f of files) if (!(await exists(join(dir, f)))) all = false;
    if (all) return dir;
  }
  return undefined;
}

async function readNames(file: string): Promise<string[] | undefined> {
  if (!(await exists(file))) return undefined;
  const text = await readFile(file, 'utf8');
  return text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** CIFAR-10 / CIFAR-100 from the binary distribution, 32x32x3 float images. */
export class CifarDataset implements Dataset {
  readonly length: number;
  private readonly offsets: Int32Array;

  private constructor(
    readonly name: string,
    readonly numClasses: number,
    readonly classNames: string[] | undefined,
    private readonly chunks: CifarRecords[],
    /** Which label byte of a record is the label (CIFAR-100: 0 coarse, 1 fine). */
    private readonly labelByte: number,
    limit: number,
  ) {
    const total = chunks.reduce((n, c) => n + c.count, 0);
    this.length = Math.min(total, limit);
    this.offsets = new Int32Array(chunks.length + 1);
    for (let i = 0; i < chunks.length; i++) this.offsets[i + 1] = this.offsets[i] + chunks[i].count;
  }

  static async load(variant: 'cifar10' | 'cifar100', options: CifarOptions): Promise<CifarDataset> {
    const split = options.split ?? 'train';
    await requireDirectory(options.path, variant);
    let files: string[];
    let subdir: string;
    if (variant === 'cifar10') {
      files = split === 'train' ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'];
      subdir = 'cifar-10-batches-bin';
    } else {
      files = [split === 'train' ? 'train.bin' : 'test.bin'];
      subdir = 'cifar-100-binary';
    }
    const dir = await resolveDir(options.path, files, subdir);
    if (!dir) {
      throw new Error(
        `${variant}: '${options.path}' (or its ${subdir}/ folder) lacks ${files.join(', ')} for split '${split}'`,
      );
    }
    const labelBytes = variant === 'cifar10' ? 1 : 2;
    const chunks: CifarRecords[] = [];
    for (const f of files) {
      const p = join(dir, f);
      chunks.push(parseCifarBinary(new Uint8Array(await readFile(p)), labelBytes, p));
    }
    let numClasses: number;
    let labelByte: number;
    let classNames: string[] | undefined;
    if (variant === 'cifar10') {
      numClasses = 10;
      labelByte = 0;
      classNames = (await readNames(join(dir, 'batches.meta.txt'))) ?? CIFAR10_CLASSES;
    } else {
      const coarse = options.labelType === 'coarse';
      numClasses = coarse ? 20 : 100;
      labelByte = coarse ? 0 : 1;
      classNames = await readNames(join(dir, coarse ? 'coarse_label_names.txt' : 'fine_label_names.txt'));
    }
    if (classNames && classNames.length !== numClasses) classNames = undefined;
    const ds = new CifarDataset(
      variant,
      numClasses,
      classNames,
      chunks,
      labelByte,
      options.limit ?? Infinity,
    );
    ds.validateLabels(files.map((f) => join(dir, f)));
    return ds;
  }

  private validateLabels(paths: string[]): void {
    for (let k = 0; k < this.chunks.length; k++) {
      const { bytes, count, labelBytes } = this.chunks[k];
      const record = labelBytes + PIXELS;
      for (let i = 0; i < count; i++) {
        const label = bytes[i * record + this.labelByte];
        if (label >= this.numClasses) {
          throw new Error(`${paths[k]}: record ${i} has label ${label}, expected 0..${this.numClasses - 1}`);
        }
      }
    }
  }

  async get(index: number): Promise<Sample> {
    return this.getSync(index);
  }

  getSync(index: number): Sample {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`${this.name}: index ${index} out of range [0, ${this.length})`);
    }
    let k = 0;
    while (index >= this.offsets[k + 1]) k++;
    const chunk = this.chunks[k];
    const record = chunk.labelBytes + PIXELS;
    const at = (index - this.offsets[k]) * record;
    return {
      image: imageFromPlanarUint8(chunk.bytes, SIDE, SIDE, 3, at + chunk.labelBytes),
      label: chunk.bytes[at + this.labelByte],
    };
  }
}
