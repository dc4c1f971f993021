import { extractMemoryAndQuery, extractPixelMemoryAndQuery } from '@selfsup/core';
import { knnAccuracyAsync } from '@selfsup/core';
import { linearProbeAsync } from '@selfsup/core';
import { semiSupervised } from '@selfsup/core';
import { segmentationProbe } from '@selfsup/core';
import type { Sample } from '@selfsup/core';
import {
  buildDatasets,
  configSource,
  evalTransform,
  loadConfig,
  openCheckpointSession,
  openSession,
  type Session,
} from '../session';

export const EVAL_KINDS = ['knn', 'linear', 'semi', 'seg'] as const;

export interface EvalOptions {
  /** Required, except for knn --pixels with a config (the baseline needs no network). */
  checkpoint?: string;
  config?: string;
  set?: string[];
  backend?: string;
  plugin?: string[];
  fraction?: number[];
  epochs?: number;
  json?: boolean;
  /** knn only: the kNN of the raw (eval-transformed) pixels of the run's data instead of the network's. */
  pixels?: boolean;
}

export async function evalCommand(kind: string, opts: EvalOptions): Promise<number> {
  if (!(EVAL_KINDS as readonly string[]).includes(kind)) {
    throw new Error(`eval ${kind}: expected one of ${EVAL_KINDS.join(', ')}`);
  }
  if (opts.pixels && kind !== 'knn') {
    throw new Error(`eval ${kind}: --pixels is for eval knn (the raw-pixel kNN baseline)`);
  }
  const session = await openEvalSession(kind, opts);
  const { config } = session;
  try {
    const splits = await buildDatasets(session);
    if (!splits.trainEval || !splits.test) {
      throw new Error(`eval ${kind}: dataset '${config.data.dataset}' has no labels to evaluate with`);
    }
    const numClasses = splits.train.numClasses ?? 0;
    const transform = evalTransform(config.data.imageSize);
    const backbone = session.pipeline.method.backbone;
    const seed = config.train.seed;
    const results: Record<string, number> = {};
    if (opts.pixels) {
      // The baseline needs no network: the same images, k and transform as the network's kNN.
      const sets = { memory: splits.trainEval, query: splits.test };
      const { memory, query } = await extractPixelMemoryAndQuery(sets, { transform });
      results.knn_pixels_top1 = await knnAccuracyAsync(memory, query, { k: config.eval.knnK });
    } else if (kind === 'knn' || kind === 'linear') {
      const sets = { memory: splits.trainEval, query: splits.test };
      const { memory, query } = await extractMemoryAndQuery(backbone, sets, { transform });
      if (kind === 'knn') results.knn_top1 = await knnAccuracyAsync(memory, query, { k: config.eval.knnK });
      else {
        const probe = await linearProbeAsync(memory, query, {
          numClasses,
          epochs: opts.epochs ?? config.eval.linearEpochs,
          lr: config.eval.linearLr,
          seed,
        });
        results.linear_top1 = probe.top1;
      }
    } else if (kind === 'semi') {
      for (const fraction of opts.fraction ?? [0.01, 0.1]) {
        const r = await semiSupervised(backbone, splits.trainEval, splits.test, {
          numClasses,
          fraction,
          epochs: opts.epochs ?? 20,
          seed,
          evalTransform: transform,
        });
        // toPrecision: 0.07 * 100 is 7.000000000000001.
        results[`semi_${Number((fraction * 100).toPrecision(6))}pct_top1`] = r.top1;
      }
    } else {
      const sampleTransform = (s: Sample): Sample => ({ ...s, image: transform(s.image) });
      const first = await splits.test.get(0);
      if (!first.mask) throw new Error(`eval seg: dataset '${config.data.dataset}' has no per-pixel masks`);
      const r = await segmentationProbe(backbone, splits.trainEval, splits.test, {
        numClasses: numClasses + 1,
        epochs: opts.epochs ?? 20,
        seed,
        transform: sampleTransform,
      });
      results.seg_mIoU = r.mIoU;
      results.seg_pixel_acc = r.pixelAcc;
    }
    const source = session.located ? { checkpoint: session.located.file } : { config: opts.config };
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...source, ...results })}\n`);
    else for (const [k, v] of Object.entries(results)) process.stdout.write(`${k}: ${v.toFixed(2)}\n`);
    return 0;
  } finally {
    session.pipeline.dispose();
  }
}

/** The checkpoint's session; for knn --pixels with a config and no checkpoint, the config's (untrained) one. */
async function openEvalSession(
  kind: string,
  opts: EvalOptions,
): Promise<Session & { located?: { file: string } }> {
  if (opts.checkpoint !== undefined) return openCheckpointSession({ ...opts, checkpoint: opts.checkpoint });
  if (!opts.pixels || opts.config === undefined) {
    throw new Error(
      `eval ${kind}: --checkpoint is required (only eval knn --pixels can take -c FILE instead)`,
    );
  }
  const config = await loadConfig(opts.config, opts.set, opts.plugin);
  return openSession(config, {
    backend: opts.backend,
    source: configSource(opts.config, opts.set),
    configPath: opts.config,
  });
}
