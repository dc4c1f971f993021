import { tf } from '../tf';
import { normalizeL2 } from '../nn/functional';
import type { Dataset } from '../contracts';
import { extractRows, type ExtractOptions, type FeatureSet } from './features';

/**
 * The raw-pixel baseline's features: each image after the eval transform (the backbone's input),
 * flattened in HWC order and, like backbone features, L2-normalised by default, so the same
 * cosine kNN compares them. What a learned representation has to beat on the same images.
 * Samples without a label get -1.
 */
export function extractPixelFeatures(dataset: Dataset, opts: ExtractOptions = {}): Promise<FeatureSet> {
  const normalize = opts.normalize ?? true;
  const flatten = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      const rows = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      return normalize ? normalizeL2(rows, 1) : rows.clone();
    });
  return extractRows(dataset, opts, 'pixels', flatten, {
    mismatch: ([, h, w, c], _width, dim, row) =>
      `pixels of ${dataset.name}: sample ${row} is ${h}x${w}x${c}, earlier ones had ${dim} values (use an eval transform that resizes)`,
  });
}

/** Raw-pixel features of a memory set and a query set under the same options (extractMemoryAndQuery's baseline). */
export async function extractPixelMemoryAndQuery(
  sets: { memory: Dataset; query: Dataset },
  opts: ExtractOptions = {},
): Promise<{ memory: FeatureSet; query: FeatureSet }> {
  const memory = await extractPixelFeatures(sets.memory, opts);
  const query = await extractPixelFeatures(sets.query, opts);
  if (memory.dim !== query.dim && memory.labels.length > 0 && query.labels.length > 0) {
    throw new Error(
      `pixels: memory images have ${memory.dim} values, query images ${query.dim} (use an eval transform that resizes)`,
    );
  }
  return { memory, query };
}
