import { mkdir } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  backboneFeatures,
  imagesToTensor,
  resolveType,
  sampleBatches,
  type Dataset,
  type DatasetRegistration,
} from '@selfsup/core';
import { selectNetwork } from '../../export/network';
import { embeddingFormatOf, writeEmbeddings, type Embeddings } from '../../export/embeddings-file';
import { buildDatasets, evalTransform, openCheckpointSession } from '../session';

export interface EmbedOptions {
  checkpoint: string;
  out: string;
  images?: string;
  config?: string;
  set?: string[];
  split?: string;
  what?: string;
  normalize?: boolean;
  batchSize?: number;
  backend?: string;
  plugin?: string[];
  quiet?: boolean;
}

const EMBED_PARTS = ['backbone', 'target'];
const SPLITS = ['train', 'test'];

/** The path of sample i, where the dataset reads files (image_folder). */
const pathOf = (dataset: Dataset) => (dataset as { pathOf?: (i: number) => string }).pathOf?.bind(dataset);

/**
 * `selfsup embed`: the backbone's pooled features (eval mode, the evaluation preprocessing) of
 * every image of a folder (--images) or of the config's dataset, batched, with file names or
 * dataset indices and labels kept.
 */
export async function embedCommand(opts: EmbedOptions): Promise<number> {
  embeddingFormatOf(opts.out); // a bad extension fails before the checkpoint is read
  const part = opts.what ?? 'backbone';
  if (!EMBED_PARTS.includes(part))
    throw new Error(`--what ${part}: expected ${EMBED_PARTS.join(' or ')} (embed gives backbone features)`);
  const split = opts.split ?? 'train';
  if (!SPLITS.includes(split)) throw new Error(`--split ${split}: expected ${SPLITS.join(' or ')}`);
  const session = await openCheckpointSession(opts);
  try {
    const { config, pipeline } = session;
    const backbone = selectNetwork(pipeline.method, part).backbone;
    const size = config.data.imageSize;
    let dataset: Dataset;
    let root: string | undefined;
    let source: string;
    if (opts.images) {
      const reg = resolveType<DatasetRegistration>(pipeline.container, 'Dataset', 'image_folder', '--images');
      dataset = await reg.create({ path: opts.images, resize: size });
      root = opts.images;
      source = resolve(opts.images);
    } else {
      const splits = await buildDatasets(session);
      const chosen = split === 'train' ? splits.source : splits.test;
      if (!chosen)
        throw new Error(
          `--split test: dataset '${config.data.dataset}' has no labelled held-out split (use --split train)`,
        );
      dataset = chosen;
      root = config.data.path;
      source = `${config.data.dataset} (${split}: ${dataset.name})`;
    }
    const filePath = pathOf(dataset);
    const n = dataset.length;
    const transform = evalTransform(size);
    const bar =
      !opts.quiet && process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'embed |{bar}| {value}/{total} images | ETA {eta_formatted}' })
        : undefined;
    bar?.start(n, 0);
    let features: Float32Array | undefined;
    let dim = 0;
    const labels: number[] = [];
    let labelled = false;
    const indices = Array.from({ length: n }, (_, i) => i);
    let done = 0;
    try {
      for await (const { samples } of sampleBatches(dataset, indices, opts.batchSize ?? 64)) {
        const x = imagesToTensor(
          samples.map((s) => transform(s.image)),
          `embed ${source}`,
        );
        try {
          const f = backboneFeatures(backbone, x, opts.normalize ?? false);
          const values = (await f.data()) as Float32Array;
          if (!features) {
            dim = f.shape[1];
            features = new Float32Array(n * dim);
          }
          features.set(values, done * dim);
          f.dispose();
        } finally {
          x.dispose();
        }
        for (const s of samples) {
          labels.push(s.label ?? -1);
          if (s.label !== undefined) labelled = true;
        }
        done += samples.length;
        bar?.update(done);
      }
    } finally {
      bar?.stop();
    }
    const embeddings: Embeddings = {
      features: features ?? new Float32Array(0),
      dim,
      indices,
      files: filePath ? indices.map((i) => (root ? relative(root, filePath(i)) : filePath(i))) : undefined,
      labels: labelled ? labels : undefined,
      classNames: dataset.classNames,
    };
    const out = resolve(opts.out);
    await mkdir(dirname(out), { recursive: true });
    const written = await writeEmbeddings(out, embeddings, {
      'selfsup.checkpoint': session.checkpoint.path,
      'selfsup.step': String(session.checkpoint.step),
      'selfsup.part': part,
      'selfsup.source': source,
      'selfsup.normalize': String(opts.normalize ?? false),
    });
    process.stdout.write(
      `embedded ${n} images of ${source} -> ${dim}-d ${opts.normalize ? 'L2-normalised ' : ''}features: ${written.join(', ')}\n`,
    );
    return 0;
  } finally {
    session.pipeline.dispose();
  }
}
