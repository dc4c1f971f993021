import { serializeSafetensors, type TensorData } from '@selfsup/core';
import { atomicWriteFile } from '../io/atomic-write';
import { encodeNpy } from '../io/npy';

/** Features of a set of images, one row each, with what identifies the row. */
export interface Embeddings {
  /** [count, dim], row-major. */
  features: Float32Array;
  dim: number;
  /** Dataset index of each row. */
  indices: number[];
  /** File of each row relative to the folder, where the images are files. */
  files?: string[];
  /** Label of each row, -1 where a sample has none; absent for an unlabelled set. */
  labels?: number[];
  classNames?: string[];
}

export const EMBEDDING_FORMATS = ['safetensors', 'npy', 'jsonl'] as const;
export type EmbeddingFormat = (typeof EMBEDDING_FORMATS)[number];

/** The format an output path asks for by its extension; an error names the path otherwise. */
export function embeddingFormatOf(path: string): EmbeddingFormat {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext && (EMBEDDING_FORMATS as readonly string[]).includes(ext)) return ext as EmbeddingFormat;
  throw new Error(`--out ${path}: expected a file ending .${EMBEDDING_FORMATS.join(', .')}`);
}

/** float32 values as the shortest decimals that read back to the same float32. */
const f32 = (v: number) => Number(v.toPrecision(9));

/** One JSON object per row: index, file, label, class (where known). */
function rowInfo(e: Embeddings, i: number): Record<string, unknown> {
  const row: Record<string, unknown> = { index: e.indices[i] };
  if (e.files) row.file = e.files[i];
  if (e.labels) {
    row.label = e.labels[i];
    if (e.classNames && e.labels[i] >= 0) row.class = e.classNames[e.labels[i]];
  }
  return row;
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * Writes the embeddings by the path's extension and returns every file written:
 * - .safetensors: `features` [N, D] F32, `indices` and `labels` [N] I64; files and class names
 *   as JSON in the metadata (`selfsup.files`, `selfsup.classes`), next to `metadata`;
 * - .npy: the features [N, D] float32, plus `<name>.rows.jsonl` (index, file, label, class per
 *   row) and `<name>.labels.npy` (int64) for a labelled set;
 * - .jsonl: one line per row, its info and `features`.
 */
export async function writeEmbeddings(
  path: string,
  e: Embeddings,
  metadata: Record<string, string>,
): Promise<string[]> {
  const format = embeddingFormatOf(path);
  const n = e.indices.length;
  const int64 = (values: number[]) => ({
    shape: [n],
    data: Float32Array.from(values),
    fileDtype: 'I64' as const,
  });
  if (format === 'safetensors') {
    const tensors = new Map<string, TensorData>([
      ['features', { shape: [n, e.dim], data: e.features }],
      ['indices', int64(e.indices)],
    ]);
    if (e.labels) tensors.set('labels', int64(e.labels));
    const md = { ...metadata };
    if (e.files) md['selfsup.files'] = JSON.stringify(e.files);
    if (e.classNames) md['selfsup.classes'] = JSON.stringify(e.classNames);
    await atomicWriteFile(path, serializeSafetensors(tensors, md));
    return [path];
  }
  if (format === 'jsonl') {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const features = Array.from(e.features.subarray(i * e.dim, (i + 1) * e.dim), f32);
      lines.push(JSON.stringify({ ...rowInfo(e, i), features }));
    }
    await atomicWriteFile(path, utf8(lines.map((l) => `${l}\n`).join('')));
    return [path];
  }
  const base = path.replace(/\.npy$/i, '');
  const written = [path, `${base}.rows.jsonl`];
  await atomicWriteFile(path, encodeNpy(e.features, [n, e.dim]));
  const rows = Array.from({ length: n }, (_, i) => `${JSON.stringify(rowInfo(e, i))}\n`);
  await atomicWriteFile(written[1], utf8(rows.join('')));
  if (e.labels) {
    written.push(`${base}.labels.npy`);
    await atomicWriteFile(
      written[2],
      encodeNpy(
        BigInt64Array.from(e.labels, (l) => BigInt(l)),
        [n],
      ),
    );
  }
  return written;
}
