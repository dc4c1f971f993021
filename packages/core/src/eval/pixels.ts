import { tf } from '../tf';
import { normalizeL2 } from '../nn/functional';
import type { Dataset } from '../contracts';
import { allIndices, imagesToTensor, sampleBatches, type ExtractOptions, type FeatureSet } from './features';

/**
 * The raw-pixel baseline's features: each image after the eval transform (the backbone's input),
 * flattened in HWC order and, like backbone features, L2-normalised by default, so the same
 * cosine kNN compares them. What a learned representation has to beat on the same images.
 * Samples without a label get -1.
 */
export async function extractPixelFeatures(dataset: Dataset, opts: ExtractOptions = {}): Promise<FeatureSet> {
  const indices = opts.indices ?? allIndices(dataset.length);
  const transform = opts.transform ?? ((im) => im);
  const normalize = opts.normalize ?? true;
  let features = new Float32Array(0);
  let dim = 0;
  const labels = new Int32Array(indices.length);
  let row = 0;
  for await (const { samples } of sampleBatches(dataset, indices, opts.batchSize ?? 64)) {
    const x = imagesToTensor(
      samples.map((s) => transform(s.image)),
      `pixels of ${dataset.name}`,
    );
    const [, h, w, c] = x.shape;
    if (row === 0) {
      dim = h * w * c;
      features = new Float32Array(indices.length * dim);
    } else if (h * w * c !== dim) {
      x.dispose();
      throw new Error(
        `pixels of ${dataset.name}: sample ${row} is ${h}x${w}x${c}, earlier ones had ${dim} values (use an eval transform that resizes)`,
      );
    }
    const flat = tf.tidy(() => {
      const rows = tf.reshape(x, [samples.length, dim]) as tf.Tensor2D;
      return normalize ? normalizeL2(rows, 1) : rows.clone();
    });
    x.dispose();
    try {
      features.set((await flat.data()) as Float32Array, row * dim);
    } finally {
      flat.dispose();
    }
    samples.forEach((s, j) => (labels[row + j] = s.label ?? -1));
    row += samples.length;
  }
  return { features, dim, labels };
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
