import { tf } from '../tf';
import type { FeatureSet } from './features';
import { normalizeL2 } from '../nn/functional';
import { readsAsync, readsSync, type HostReads } from '../util/reads';

export interface KnnOptions {
  /** Neighbours that vote (default 20; capped at the memory size). */
  k?: number;
  /** Query rows per similarity block, bounding memory at chunk x memory floats. */
  chunk?: number;
}

/**
 * kNN classification by cosine similarity with a plain majority vote (METHODS.md "Evaluation").
 * Tie-break: among classes with the most votes, the one whose nearest voting neighbour ranks
 * highest wins, i.e. the nearest neighbour decides a tie. Equal similarities rank by memory index.
 */
export function knnPredict(memory: FeatureSet, query: FeatureSet, opts: KnnOptions = {}): Int32Array {
  return readsSync(knnPredictReads(memory, query, opts));
}

/** knnPredict with asynchronous reads (every backend; the only way on webgpu). */
export function knnPredictAsync(
  memory: FeatureSet,
  query: FeatureSet,
  opts: KnnOptions = {},
): Promise<Int32Array> {
  return readsAsync(knnPredictReads(memory, query, opts));
}

function* knnPredictReads(memory: FeatureSet, query: FeatureSet, opts: KnnOptions): HostReads<Int32Array> {
  checkSet(memory, 'memory');
  checkSet(query, 'query');
  if (memory.dim !== query.dim) throw new Error(`kNN: memory dim ${memory.dim} != query dim ${query.dim}`);
  const nMem = memory.labels.length;
  const nQuery = query.labels.length;
  if (nMem === 0) throw new Error('kNN: the memory set is empty');
  const k = Math.min(opts.k ?? 20, nMem);
  if (!(k >= 1)) throw new Error(`kNN: k must be >= 1, got ${opts.k}`);
  const chunk = opts.chunk ?? 256;
  const pred = new Int32Array(nQuery);
  const mem = tf.tidy(() => normalizeL2(tf.tensor2d(memory.features, [nMem, memory.dim]) as tf.Tensor2D, 1));
  try {
    for (let start = 0; start < nQuery; start += chunk) {
      const rows = Math.min(chunk, nQuery - start);
      const idx = tf.tidy(() => {
        const q = normalizeL2(
          tf.tensor2d(query.features.subarray(start * query.dim, (start + rows) * query.dim), [
            rows,
            query.dim,
          ]),
          1,
        );
        const sim = tf.matMul(q, mem, false, true);
        return tf.topk(sim, k, true).indices;
      });
      let nn: Int32Array;
      try {
        nn = (yield [idx])[0] as Int32Array;
      } finally {
        idx.dispose();
      }
      for (let r = 0; r < rows; r++) pred[start + r] = vote(nn.subarray(r * k, (r + 1) * k), memory.labels);
    }
  } finally {
    mem.dispose();
  }
  return pred;
}

/** Majority vote over neighbours given nearest first; among tied classes the one with the nearest neighbour wins. */
export function vote(neighbours: ArrayLike<number>, labels: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  let most = 0;
  for (let i = 0; i < neighbours.length; i++) {
    const c = labels[neighbours[i]];
    const n = (counts.get(c) ?? 0) + 1;
    counts.set(c, n);
    most = Math.max(most, n);
  }
  for (let i = 0; i < neighbours.length; i++) {
    const c = labels[neighbours[i]];
    if (counts.get(c) === most) return c;
  }
  return -1;
}

/** Top-1 accuracy in percent of kNN predictions against the query labels. */
export function knnAccuracy(memory: FeatureSet, query: FeatureSet, opts: KnnOptions = {}): number {
  const pred = knnPredict(memory, query, opts);
  return top1Percent(pred, query.labels);
}

/** knnAccuracy with asynchronous reads (every backend; the only way on webgpu). */
export async function knnAccuracyAsync(
  memory: FeatureSet,
  query: FeatureSet,
  opts: KnnOptions = {},
): Promise<number> {
  return top1Percent(await knnPredictAsync(memory, query, opts), query.labels);
}

export function top1Percent(pred: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (pred.length !== labels.length)
    throw new Error(`${pred.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) return 0;
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) hit++;
  return (100 * hit) / labels.length;
}

function checkSet(s: FeatureSet, what: string): void {
  if (s.features.length !== s.labels.length * s.dim) {
    throw new Error(
      `kNN ${what}: ${s.features.length} feature values for ${s.labels.length} rows of dim ${s.dim}`,
    );
  }
  for (let i = 0; i < s.labels.length; i++) {
    if (s.labels[i] < 0) throw new Error(`kNN ${what}: sample ${i} has no label (got ${s.labels[i]})`);
  }
}
