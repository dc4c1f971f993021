/**
 * Decoding the user's picked images in the worker: createImageBitmap, then an OffscreenCanvas
 * scaled to cover the training size and centre-cropped (the CLI's image_folder `fit: cover`).
 */
import { imageFromUint8, type Image } from '@selfsup/core';
import { DecodedImageDataset, folderLayout } from '../folder-dataset';
import type { FolderFile } from '../protocol';

async function decodeCover(blob: Blob, size: number): Promise<Image> {
  const bitmap = await createImageBitmap(blob);
  try {
    const scale = Math.max(size / bitmap.width, size / bitmap.height);
    const sw = size / scale;
    const sh = size / scale;
    const canvas = new OffscreenCanvas(size, size);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context on an OffscreenCanvas');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, (bitmap.width - sw) / 2, (bitmap.height - sh) / 2, sw, sh, 0, 0, size, size);
    const rgba = ctx.getImageData(0, 0, size, size).data;
    const rgb = new Uint8Array(size * size * 3);
    for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = rgba[p * 4 + c];
    return imageFromUint8(rgb, size, size, 3);
  } finally {
    bitmap.close();
  }
}

export interface DecodedFolder {
  root: string;
  dataset: DecodedImageDataset;
  /** Paths that could not be decoded (skipped, as the CLI's onBadImage: skip). */
  skipped: string[];
}

/** The picked folder as a dataset at `size` px, at most `limit` images, in the CLI's order. */
export async function decodeFolder(
  files: FolderFile[],
  size: number,
  limit: number | undefined,
  progress: (done: number, total: number) => void,
): Promise<DecodedFolder> {
  const byPath = new Map(files.map((f) => [f.path, f.file]));
  // As the CLI: unreadable images are skipped first, then the first `limit` good ones are kept.
  const layout = folderLayout([...byPath.keys()]);
  const images: Image[] = [];
  const labels: (number | undefined)[] = [];
  const skipped: string[] = [];
  for (const [i, e] of layout.entries.entries()) {
    if (limit !== undefined && images.length >= limit) break;
    try {
      images.push(await decodeCover(byPath.get(e.path)!, size));
      labels.push(e.label);
    } catch {
      skipped.push(e.path);
    }
    if (i % 32 === 31) progress(i + 1, layout.entries.length);
  }
  if (images.length === 0) throw new Error(`folder '${layout.root}': none of its images could be decoded`);
  return { root: layout.root, dataset: new DecodedImageDataset(images, labels, layout.classNames), skipped };
}
