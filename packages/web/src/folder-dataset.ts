/**
 * A folder the user picked in the page (`<input webkitdirectory>`), laid out as the CLI's
 * `image_folder` reads one: class subfolders give labels (sorted names, as torchvision's
 * ImageFolder), a folder of files only is unlabelled; files in depth-first name order.
 * Decoding is the page's (a canvas); this part is platform-neutral.
 */
import type { Dataset, Image, Sample } from '@selfsup/core';

/** The file extensions the CLI's image_folder reads by default. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface FolderEntry {
  /** Path relative to the picked folder's parent, '/'-separated (File.webkitRelativePath). */
  path: string;
  label?: number;
}

export interface FolderLayout {
  /** The picked folder's name. */
  root: string;
  classNames?: string[];
  entries: FolderEntry[];
}

/** Code-unit order, as the CLI's listing (locale-independent). */
const compareNames = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Depth-first, each folder's entries by name: compare path segments one by one. */
function comparePaths(a: string, b: string): number {
  const sa = a.split('/');
  const sb = b.split('/');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = compareNames(sa[i], sb[i]);
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

const isImage = (name: string) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
const isHidden = (segments: string[]) => segments.some((s) => s.startsWith('.'));

/**
 * The dataset layout of the picked files' relative paths ("root/class/.../file.png").
 * Throws naming the folder when there is nothing to train on.
 */
export function folderLayout(paths: string[]): FolderLayout {
  if (paths.length === 0) throw new Error('folder: no files were picked');
  const root = paths[0].split('/')[0];
  const inside = paths
    .map((p) => p.split('/'))
    .filter((s) => s[0] === root && s.length >= 2 && !isHidden(s.slice(1)) && isImage(s[s.length - 1]));
  const classNames = [...new Set(inside.filter((s) => s.length >= 3).map((s) => s[1]))].sort(compareNames);
  let entries: FolderEntry[];
  if (classNames.length > 0) {
    const byClass = new Map(classNames.map((c, i) => [c, i]));
    entries = inside
      .filter((s) => s.length >= 3)
      .map((s) => s.join('/'))
      .sort(comparePaths)
      .map((path) => ({ path, label: byClass.get(path.split('/')[1])! }));
  } else {
    entries = inside
      .map((s) => s.join('/'))
      .sort(comparePaths)
      .map((path) => ({ path }));
  }
  if (entries.length === 0) {
    throw new Error(`folder '${root}': no ${IMAGE_EXTENSIONS.join('/')} images found`);
  }
  return { root, ...(classNames.length > 0 && { classNames }), entries };
}

/** Images already decoded to the training size, with their labels. */
export class DecodedImageDataset implements Dataset {
  readonly name = 'image_folder';
  readonly length: number;
  readonly numClasses?: number;
  readonly classNames?: string[];

  constructor(
    private readonly images: Image[],
    private readonly labels: (number | undefined)[],
    classNames?: string[],
  ) {
    if (labels.length !== images.length)
      throw new Error(`folder dataset: ${images.length} images but ${labels.length} labels`);
    this.length = images.length;
    if (classNames) {
      this.classNames = classNames;
      this.numClasses = classNames.length;
    }
  }

  async get(index: number): Promise<Sample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`image_folder: index ${index} out of range [0, ${this.length})`);
    }
    const label = this.labels[index];
    return label === undefined ? { image: this.images[index] } : { image: this.images[index], label };
  }
}
