import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { Dataset, Image, Sample } from '@selfsup/core';
import { imageFromUint8 } from '@selfsup/core';
import { requireDirectory } from './files';
import {
  displayPath,
  folderIdentity,
  listFolder,
  listImageFiles,
  unreadableBecause,
  type FsPath,
} from './image-files';

export interface ImageFolderOptions {
  path: string;
  /** Output size: a side (square) or [height, width]. Without it every image must have one size. */
  resize?: number | [number, number];
  /** How `resize` treats another aspect ratio: crop to fill (default), stretch, or letterbox. */
  fit?: 'cover' | 'fill' | 'contain';
  /** Unreadable or corrupt images: skip them (counted in `badImages`) or fail (default). */
  onBadImage?: 'skip' | 'fail';
  /** Decoded images kept in memory (LRU); 0 disables the cache. */
  cacheSize?: number;
  /** File extensions (lowercase, with dot) that count as images. */
  extensions?: string[];
  limit?: number;
}

interface Entry {
  path: FsPath;
  /** The path in messages and `badImages` (bytes that are not UTF-8 written \xNN). */
  shown: string;
  label?: number;
  width: number;
  height: number;
}

const DEFAULT_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/**
 * sharp's input for a file: its path, or for a name that is not UTF-8 (which sharp cannot be
 * given as a path) the file's bytes.
 */
async function sharpInput(path: FsPath): Promise<string | Buffer> {
  return typeof path === 'string' ? path : readFile(path);
}

/**
 * The reason an image cannot be used: the file system's (permission denied, no such file, a
 * broken link) when there is one, else the decoder's.
 */
async function whyUnreadable(path: FsPath, decoderError: unknown): Promise<string> {
  return (await unreadableBecause(path)) ?? (decoderError as Error).message;
}

/** Runs `fn` over items with at most `limit` in flight, keeping order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * PNG/JPEG images from a folder. With class subfolders, labels index the sorted folder names
 * (torchvision ImageFolder); a folder of files only is unlabelled. Scanning reads headers only;
 * pixels are decoded in `get`. Images come out as 3-channel sRGB (alpha dropped, EXIF-rotated).
 */
export class ImageFolderDataset implements Dataset {
  readonly name = 'image_folder';
  readonly length: number;
  readonly numClasses?: number;
  readonly classNames?: string[];
  /** Paths skipped as unreadable (onBadImage 'skip'), found at scan or at decode. */
  readonly badImages: string[] = [];
  /** Why each of `badImages` was skipped (permission denied, not an image, ...). */
  readonly badImageReasons = new Map<string, string>();
  private readonly cache = new Map<number, Image>();

  private constructor(
    private readonly entries: Entry[],
    classNames: string[] | undefined,
    private readonly options: ImageFolderOptions,
  ) {
    this.length = entries.length;
    if (classNames) {
      this.classNames = classNames;
      this.numClasses = classNames.length;
    }
  }

  static async load(options: ImageFolderOptions): Promise<ImageFolderDataset> {
    const root = options.path;
    const onBad = options.onBadImage ?? 'fail';
    await requireDirectory(root, 'image_folder');
    const extensions = new Set((options.extensions ?? DEFAULT_EXTENSIONS).map((e) => e.toLowerCase()));
    // Class folders and images may be symbolic links (datasets assembled from links are common).
    const classDirs = (await listFolder(root)).filter((e) => e.kind === 'dir');

    let files: { path: FsPath; label?: number }[];
    let classNames: string[] | undefined;
    if (classDirs.length > 0) {
      classNames = classDirs.map((d) => displayPath(d.name));
      files = [];
      const rootIdentity = [await folderIdentity(root)];
      for (let label = 0; label < classDirs.length; label++) {
        const paths = await listImageFiles(classDirs[label].path, extensions, true, rootIdentity);
        if (paths.length === 0) {
          throw new Error(
            `image_folder: class folder '${displayPath(classDirs[label].path)}' has no ${[...extensions].join('/')} images`,
          );
        }
        for (const path of paths) files.push({ path, label });
      }
    } else {
      files = (await listImageFiles(root, extensions, false)).map((path) => ({ path }));
    }
    if (files.length === 0) {
      throw new Error(`image_folder: no ${[...extensions].join('/')} images found in '${root}'`);
    }

    const skipped: Array<[string, string]> = [];
    const scanned = await mapLimit(files, 8, async (f): Promise<Entry | undefined> => {
      const shown = displayPath(f.path);
      try {
        const meta = await sharp(await sharpInput(f.path)).metadata();
        if (!meta.width || !meta.height) throw new Error('no image dimensions in header');
        // EXIF orientations 5..8 swap width and height once auto-rotated.
        const swap = (meta.orientation ?? 1) >= 5;
        return {
          path: f.path,
          shown,
          label: f.label,
          width: swap ? meta.height : meta.width,
          height: swap ? meta.width : meta.height,
        };
      } catch (err) {
        const reason = await whyUnreadable(f.path, err);
        if (onBad === 'fail') throw new Error(`image_folder: cannot read image '${shown}': ${reason}`);
        skipped.push([shown, reason]);
        return undefined;
      }
    });
    let entries = scanned.filter((e): e is Entry => e !== undefined);
    if (entries.length === 0) {
      throw new Error(`image_folder: none of the ${files.length} images in '${root}' could be read`);
    }
    if (options.resize === undefined) {
      const first = entries[0];
      const other = entries.find((e) => e.width !== first.width || e.height !== first.height);
      if (other) {
        throw new Error(
          `image_folder: images in '${root}' differ in size: '${first.shown}' is ${first.width}x${first.height} ` +
            `and '${other.shown}' is ${other.width}x${other.height} (WxH); set the 'resize' option`,
        );
      }
    }
    if (options.limit !== undefined) entries = entries.slice(0, options.limit);
    const ds = new ImageFolderDataset(entries, classNames, options);
    for (const [shown, reason] of skipped) ds.markBad(shown, reason);
    return ds;
  }

  private markBad(shown: string, reason: string): void {
    if (this.badImageReasons.has(shown)) return;
    this.badImages.push(shown);
    this.badImageReasons.set(shown, reason);
  }

  /** Path of sample i (for messages and inspection; bytes that are not UTF-8 written \xNN). */
  pathOf(index: number): string {
    return this.entries[index].shown;
  }

  async get(index: number): Promise<Sample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`image_folder: index ${index} out of range [0, ${this.length})`);
    }
    // A file that fails to decode (onBadImage 'skip') is replaced by the next good one, so
    // the substitute depends only on the folder's contents.
    for (let k = 0; k < this.length; k++) {
      const i = (index + k) % this.length;
      const entry = this.entries[i];
      if (k > 0 && this.badImageReasons.has(entry.shown)) continue;
      try {
        const image = await this.decode(i);
        return entry.label === undefined ? { image } : { image, label: entry.label };
      } catch (err) {
        const reason = await whyUnreadable(entry.path, err);
        if ((this.options.onBadImage ?? 'fail') === 'fail') {
          throw new Error(`image_folder: cannot decode '${entry.shown}': ${reason}`);
        }
        this.markBad(entry.shown, reason);
      }
    }
    throw new Error(`image_folder: no image in '${this.options.path}' could be decoded`);
  }

  private async decode(index: number): Promise<Image> {
    const cached = this.cache.get(index);
    if (cached) {
      // Refresh its LRU position.
      this.cache.delete(index);
      this.cache.set(index, cached);
      return cached;
    }
    const entry = this.entries[index];
    let pipeline = sharp(await sharpInput(entry.path))
      .rotate()
      .toColourspace('srgb');
    const resize = this.options.resize;
    if (resize !== undefined) {
      const [h, w] = typeof resize === 'number' ? [resize, resize] : resize;
      pipeline = pipeline.resize(w, h, { fit: this.options.fit ?? 'cover' });
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let image: Image;
    if (info.channels === 3) {
      image = imageFromUint8(bytes, info.height, info.width, 3);
    } else {
      // Gray (+alpha) or RGBA: take the colour channels, drop alpha.
      const n = info.height * info.width;
      const rgb = new Uint8Array(n * 3);
      const C = info.channels;
      const gray = C < 3;
      for (let p = 0; p < n; p++) {
        for (let c = 0; c < 3; c++) rgb[p * 3 + c] = bytes[p * C + (gray ? 0 : c)];
      }
      image = imageFromUint8(rgb, info.height, info.width, 3);
    }
    const cacheSize = this.options.cacheSize ?? 0;
    if (cacheSize > 0) {
      if (this.cache.size >= cacheSize) this.cache.delete(this.cache.keys().next().value as number);
      this.cache.set(index, image);
    }
    return image;
  }
}
