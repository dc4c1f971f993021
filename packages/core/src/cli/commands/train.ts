import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { Trainer } from '../../train/trainer';
import { createPipeline } from '../../di/pipeline';
import { createStepRunner, threadsPerRank, type StepRunner } from '../../parallel/runner';
import { Checkpointer } from '../../io/checkpoint';
import type { SelfsupConfig } from '../../config/schema';
import { extractMemoryAndQuery } from '../../eval/features';
import { knnAccuracyAsync } from '../../eval/knn';
import { linearProbeAsync } from '../../eval/linear';
import {
  buildDatasets,
  buildViews,
  configHash,
  configSource,
  configToYaml,
  evalTransform,
  loadConfig,
  openSession,
  RESOLVED_CONFIG,
  resumeBreakingChanges,
  skippedImages,
  type DataSplits,
  type Session,
} from '../session';

export interface TrainOptions {
  config: string;
  set?: string[];
  backend?: string;
  /** Data-parallel ranks (sets train.workers). */
  workers?: number;
  /** Backend threads per rank (sets train.threads). */
  threads?: number;
  out?: string;
  resume?: boolean;
  quiet?: boolean;
  plugin?: string[];
}

export interface FinalScores {
  knn?: number;
  linear?: number;
  /** kNN of the same backbone as initialised (same config and seed), before any training. */
  knnUntrained?: number;
}

/**
 * kNN (k from config) and a linear probe on frozen GAP features: the numbers a run ends with,
 * next to the kNN of the untrained network, which is what the training has to beat (on the
 * built-in dataset a random backbone is well above chance).
 */
export async function finalEvaluation(
  session: Session,
  splits: DataSplits,
  log: (l: string) => void,
): Promise<FinalScores> {
  const { config, pipeline } = session;
  if (!splits.trainEval || !splits.test) {
    log('no labelled held-out data: skipping kNN and linear probe');
    return {};
  }
  const transform = evalTransform(config.data.imageSize);
  const backbone = pipeline.method.backbone;
  const sets = { memory: splits.trainEval, query: splits.test };
  const { memory, query } = await extractMemoryAndQuery(backbone, sets, { transform });
  const knn = await knnAccuracyAsync(memory, query, { k: config.eval.knnK });
  const numClasses = splits.train.numClasses ?? splits.trainEval.numClasses ?? 0;
  const probe = await linearProbeAsync(memory, query, {
    numClasses,
    epochs: config.eval.linearEpochs,
    lr: config.eval.linearLr,
    seed: config.train.seed,
  });
  const linear = probe.top1;
  // Initialisation depends only on the config's seed: a fresh pipeline is the untrained network.
  const untrained = createPipeline(config, { plugins: session.runtime.plugins });
  let knnUntrained: number;
  try {
    const f0 = await extractMemoryAndQuery(untrained.method.backbone, sets, { transform });
    knnUntrained = await knnAccuracyAsync(f0.memory, f0.query, { k: config.eval.knnK });
  } finally {
    untrained.dispose();
  }
  return { knn, linear, knnUntrained };
}

export async function trainCommand(opts: TrainOptions): Promise<number> {
  const config = await loadConfig(opts.config, opts.set);
  // Flags after validation, so errors say "(with --set overrides)" only when there were some.
  if (opts.workers !== undefined) config.train.workers = opts.workers;
  if (opts.threads !== undefined) config.train.threads = opts.threads;
  if (opts.quiet) config.train.quiet = true;
  const runDir = resolve(opts.out ?? join('runs', basename(opts.config, extname(opts.config))));
  // Before anything is written: the run directory's config.yaml is what eval, maps and resume read.
  await checkRunDirectory(runDir, config, opts.resume ?? false);
  const threads = threadsPerRank(config.train.threads, config.train.workers);
  const session = await openSession(config, {
    backend: opts.backend,
    plugins: opts.plugin,
    threads,
    source: configSource(opts.config, opts.set),
  });
  let runner: StepRunner;
  try {
    runner = await createStepRunner({
      workers: config.train.workers,
      method: session.pipeline.method,
      spec: {
        config,
        plugins: opts.plugin ?? [],
        backend: session.runtime.backend.name,
        threads,
        source: configSource(opts.config, opts.set),
      },
    });
  } catch (err) {
    session.pipeline.dispose();
    throw err;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const splits = await buildDatasets(session);
    const skippedAtLoad = skippedImages(splits.source).length;
    if (skippedAtLoad > 0) log(skippedLine(splits, skippedAtLoad));
    const views = buildViews(session);
    await mkdir(runDir, { recursive: true });
    await writeFile(join(runDir, RESOLVED_CONFIG), configToYaml(config));
    const t = config.train;
    log(
      `train ${config.data.dataset} (${splits.train.length} images, ${config.data.imageSize}px) -> ${runDir}` +
        `${opts.resume ? ' (resume)' : ''}`,
    );
    const trainer = new Trainer({
      method: session.pipeline.method,
      optimizer: session.pipeline.optimizer,
      dataset: splits.train,
      views,
      runDir,
      batchSize: t.batchSize,
      epochs: t.epochs,
      maxSteps: t.maxSteps,
      seed: t.seed,
      lr: { baseLr: session.pipeline.baseLr, warmupEpochs: t.warmupEpochs },
      checkpointEveryEpochs: t.checkpointEvery,
      keepLast: t.keepCheckpoints,
      knn:
        splits.trainEval && splits.test && t.knnEvery > 0
          ? {
              memory: splits.trainEval,
              query: splits.test,
              everyEpochs: t.knnEvery,
              k: config.eval.knnK,
              transform: evalTransform(config.data.imageSize),
            }
          : undefined,
      progress: t.quiet || !process.stderr.isTTY ? 'log' : 'bar',
      resume: opts.resume ?? false,
      configHash: configHash(config),
      stepFn: runner.step,
      log,
    });
    const summary = await trainer.run();
    const scores = await finalEvaluation(session, splits, log);
    const skipped = skippedImages(splits.source);
    if (skipped.length > skippedAtLoad) log(skippedLine(splits, skipped.length));
    const result = {
      runDir,
      steps: summary.steps,
      epochs: summary.epochs,
      lastLoss: summary.metrics.at(-1)?.loss,
      knn: scores.knn,
      linear: scores.linear,
      knnUntrained: scores.knnUntrained,
      checkpoint: summary.lastCheckpoint,
      ...(skipped.length > 0 && { skippedImages: skipped }),
    };
    await writeFile(join(runDir, 'final.json'), `${JSON.stringify(result, null, 2)}\n`);
    const pct = (v?: number) => (v === undefined ? 'n/a' : `${v.toFixed(2)}%`);
    process.stdout.write(
      `kNN top-1 (k=${config.eval.knnK}): ${pct(scores.knn)}` +
        (scores.knnUntrained === undefined ? '' : ` (untrained network: ${pct(scores.knnUntrained)})`) +
        `\nlinear probe top-1: ${pct(scores.linear)}\n`,
    );
    return 0;
  } finally {
    await runner.close();
    session.pipeline.dispose();
  }
}

function skippedLine(splits: DataSplits, count: number): string {
  const paths = skippedImages(splits.source);
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? `, ... (${paths.length - 5} more)` : '');
  return `data: skipped ${count} unreadable image(s) of ${splits.source.length} (onBadImage: skip): ${shown}`;
}

/**
 * Refuses, before config.yaml is overwritten, a run directory that already holds another run
 * (without --resume) or whose run was trained under settings a resume cannot change.
 */
async function checkRunDirectory(runDir: string, config: SelfsupConfig, resume: boolean): Promise<void> {
  const existing = await new Checkpointer(join(runDir, 'checkpoints')).list();
  if (existing.length === 0) return;
  if (!resume) {
    throw new Error(
      `run directory ${runDir} already has checkpoints (latest step ${existing[existing.length - 1].step}); ` +
        'pass --resume to continue it, or --out to choose a new run directory',
    );
  }
  const previousPath = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(previousPath)) return;
  let previous: SelfsupConfig;
  try {
    previous = await loadConfig(previousPath);
  } catch {
    return; // Unreadable: the checkpoint's own config hash still guards the resume.
  }
  const changed = resumeBreakingChanges(previous, config);
  if (changed.length > 0) {
    throw new Error(
      `cannot resume ${runDir}: these settings differ from its ${RESOLVED_CONFIG}: ${changed.join(', ')}; ` +
        'only train.epochs, train.maxSteps, logging, checkpointing and eval settings may change on resume',
    );
  }
}
