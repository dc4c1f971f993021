import { basename, extname, join, resolve } from 'node:path';
import { createPipeline, StopRequested, type Trainer, type TrainSummary } from '@selfsup/core';
import { createStepRunner, threadsPerRank, type StepRunner } from '../../parallel/runner';
import { hooksFromConfig, lrScheduleFromConfig } from '@selfsup/core';
import { atomicWriteFile } from '../../io/atomic-write';
import { createRunTrainer } from '../../train/run-trainer';
import { YieldToEventLoopHook } from '../../train/hooks/yield-to-event-loop';
import { mapsMonitorOptions } from '../../train/maps-monitor-options';
import type { Method, SelfsupConfig } from '@selfsup/core';
import { initFromFile } from '../init-from';
import { RunFolder } from '../run-folder';
import { onStopSignals, signalExitCode, type StopSignal } from '../stop-signals';
import {
  checkBatchSizeAgainstCount,
  checkBatchSizeAgainstData,
  checkRunDirectory,
  resumeCheckpoint,
} from '../train-checks';
import { extractMemoryAndQuery, extractPixelMemoryAndQuery } from '@selfsup/core';
import { knnAccuracyAsync } from '@selfsup/core';
import { linearProbeAsync } from '@selfsup/core';
import {
  buildDatasets,
  buildViews,
  configHash,
  configSource,
  configToYaml,
  evalTransform,
  hashedParts,
  loadConfig,
  openSession,
  RESOLVED_CONFIG,
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
  /** FILE[:prefix]: weights to start from (a torchvision-named backbone or a selfsup checkpoint). */
  initFrom?: string;
}

export interface FinalScores {
  knn?: number;
  linear?: number;
  /** kNN of the same backbone as initialised (same config and seed), before any training. */
  knnUntrained?: number;
  /** kNN of the eval-transformed pixels themselves (same k, memory and query images): no network at all. */
  knnPixels?: number;
}

/**
 * kNN (k from config) and a linear probe on frozen GAP features: the numbers a run ends with,
 * next to the two baselines the training has to beat: the kNN of the untrained network (on the
 * built-in dataset a random backbone is well above chance) and the kNN of the raw pixels.
 */
export async function finalEvaluation(
  session: Session,
  splits: DataSplits,
  log: (l: string) => void,
  initialise?: (method: Method) => Promise<unknown>,
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
    // With --init-from, "before training" is the loaded weights.
    if (initialise) await initialise(untrained.method);
    const f0 = await extractMemoryAndQuery(untrained.method.backbone, sets, { transform });
    knnUntrained = await knnAccuracyAsync(f0.memory, f0.query, { k: config.eval.knnK });
  } finally {
    untrained.dispose();
  }
  const pixels = await extractPixelMemoryAndQuery(sets, { transform });
  const knnPixels = await knnAccuracyAsync(pixels.memory, pixels.query, { k: config.eval.knnK });
  return { knn, linear, knnUntrained, knnPixels };
}

export async function trainCommand(opts: TrainOptions): Promise<number> {
  const config = await loadConfig(opts.config, opts.set, opts.plugin);
  // Flags after validation, so errors say "(with --set overrides)" only when there were some.
  if (opts.workers !== undefined) config.train.workers = opts.workers;
  if (opts.threads !== undefined) config.train.threads = opts.threads;
  if (opts.quiet) config.train.quiet = true;
  const runDir = resolve(opts.out ?? join('runs', basename(opts.config, extname(opts.config))));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  // Installed first, so a signal at any point gets its message (and, later, its checkpoint).
  const stop: StopState = { phase: 'preparing' };
  const offSignals = onStopSignals(stopHandlers(stop, runDir, log));
  const folder = new RunFolder(runDir);
  stop.folder = folder;
  try {
    // Checked writable, created and locked; nothing else is written until every check has passed.
    await folder.open({
      command: `selfsup train --config ${opts.config}${opts.resume ? ' --resume' : ''}`,
      warn: log,
    });
    return await trainInFolder(opts, config, folder, stop, log);
  } finally {
    if (folder.isCommitted) await folder.close();
    else await folder.abandon();
    offSignals();
  }
}

/** What the signal handlers need to know: how far the command is, and the trainer once it exists. */
interface StopState {
  phase: 'preparing' | 'training' | 'evaluating';
  /** The run folder, undone by an early exit however far it got opening. */
  folder?: RunFolder;
  trainer?: Trainer;
  signal?: StopSignal;
}

/**
 * First SIGINT/SIGTERM: while training, finish the step in flight and write a checkpoint (the
 * trainer's stop request); before training nothing is written yet and after it the checkpoint
 * is on disk, so the command stops at once. A second signal always stops at once.
 */
function stopHandlers(stop: StopState, runDir: string, log: (l: string) => void) {
  const now = (signal: StopSignal, message: string): never => {
    log(`selfsup: ${message}`);
    stop.folder?.abandonSync();
    process.exit(signalExitCode(signal));
  };
  const last = () => stop.trainer?.lastCheckpoint ?? 'none yet';
  return {
    first(signal: StopSignal) {
      stop.signal = signal;
      if (stop.phase === 'preparing') {
        now(signal, `${signal} before training started: stopped; nothing was written into ${runDir}`);
      } else if (stop.phase === 'evaluating') {
        now(
          signal,
          `${signal} during the final evaluation: stopped; training is complete, checkpoint ${last()}; ` +
            `the scores: selfsup eval knn --checkpoint ${shellQuote(runDir)}`,
        );
      } else {
        stop.trainer?.requestStop(signal);
        const again = signal === 'SIGINT' ? 'press Ctrl-C again' : `send ${signal} again`;
        const done = stop.trainer ? ` (${stop.trainer.meta.step} of ${stop.trainer.totalSteps} done)` : '';
        log(
          `selfsup: ${signal}: stopping once the current step is done${done}, then writing a checkpoint ` +
            `(${again} to stop at once, losing that step)`,
        );
      }
    },
    again(signal: StopSignal) {
      now(signal, `${signal} again: stopped at once; the step in flight is lost; last checkpoint: ${last()}`);
    },
  };
}

/** Quotes a shell word when it needs it. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The command that continues a run stopped in `runDir`. */
function resumeCommand(runDir: string, opts: TrainOptions): string {
  const words = ['selfsup', 'train', '--config', join(runDir, RESOLVED_CONFIG), '--out', runDir, '--resume'];
  if (opts.backend) words.push('--backend', opts.backend);
  for (const p of opts.plugin ?? []) words.push('--plugin', p);
  return words.map(shellQuote).join(' ');
}

async function trainInFolder(
  opts: TrainOptions,
  config: SelfsupConfig,
  folder: RunFolder,
  stop: StopState,
  log: (line: string) => void,
): Promise<number> {
  const runDir = folder.dir;
  const resume = opts.resume ?? false;
  // The run folder and its checkpoints, before anything is built.
  await checkRunDirectory(runDir, config, resume);
  const resumeFrom = resume ? await resumeCheckpoint(runDir, config) : undefined;
  const threads = threadsPerRank(config.train.threads, config.train.workers);
  const session = await openSession(config, {
    backend: opts.backend,
    threads,
    source: configSource(opts.config, opts.set),
    configPath: opts.config,
  });
  const initialise = opts.initFrom ? (m: Method) => initFromFile(m, opts.initFrom!) : undefined;
  let runner: StepRunner | undefined;
  try {
    checkBatchSizeAgainstCount(session);
    if (initialise) process.stderr.write(`${await initialise(session.pipeline.method)}\n`);
    runner = await createStepRunner({
      workers: config.train.workers,
      method: session.pipeline.method,
      spec: {
        config,
        plugins: config.plugins,
        backend: session.runtime.backend.name,
        threads,
        source: configSource(opts.config, opts.set),
      },
    });
    const splits = await buildDatasets(session);
    checkBatchSizeAgainstData(session, splits);
    // Before the run directory is written: a train.mapsEvery the run cannot honour fails here.
    const maps = await mapsMonitorOptions(
      config,
      session.pipeline.method,
      splits.test,
      evalTransform(config.data.imageSize),
    );
    const t = config.train;
    const trainer = createRunTrainer({
      method: session.pipeline.method,
      optimizer: session.pipeline.optimizer,
      dataset: splits.train,
      views: buildViews(session),
      runDir,
      batchSize: t.batchSize,
      epochs: t.epochs,
      maxSteps: t.maxSteps,
      seed: t.seed,
      lr:
        t.lrSchedule === undefined
          ? { baseLr: session.pipeline.baseLr, warmupEpochs: t.warmupEpochs }
          : lrScheduleFromConfig(
              session.pipeline.container,
              t.lrSchedule,
              {
                baseLr: session.pipeline.baseLr,
                // Steps per epoch as the trainer's sampler counts them (the last partial batch dropped).
                warmupSteps: Math.round(t.warmupEpochs * Math.floor(splits.train.length / t.batchSize)),
              },
              configSource(opts.config, opts.set),
            ),
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
      maps,
      progress: t.quiet || !process.stderr.isTTY ? 'log' : 'bar',
      resume,
      configHash: configHash(config),
      configSettings: hashedParts(config),
      stepFn: runner.step,
      extraHooks: [
        // So a SIGINT or SIGTERM is seen after the step in flight, not at the next file write.
        new YieldToEventLoopHook(),
        ...hooksFromConfig(session.pipeline.container, t.hooks, configSource(opts.config, opts.set)),
      ],
      log,
    });
    // The dataset length, steps per epoch and the rest of the checkpoint's record.
    const problem = resumeFrom && trainer.resumeProblem(resumeFrom);
    if (problem) throw new Error(problem);

    // Every check has passed: from here on the run folder is written.
    stop.trainer = trainer;
    stop.phase = 'training';
    const removed = await folder.commit();
    if (removed.length > 0)
      log(`removed ${removed.length} temp file(s) of interrupted writes: ${removed.join(', ')}`);
    const skippedAtLoad = skippedImages(splits.source).length;
    if (skippedAtLoad > 0) log(skippedLine(splits, skippedAtLoad));
    // The run directory's config.yaml is what eval, maps and resume read.
    await atomicWriteFile(join(runDir, RESOLVED_CONFIG), new TextEncoder().encode(configToYaml(config)));
    log(
      `train ${config.data.dataset} (${splits.train.length} images, ${config.data.imageSize}px) -> ${runDir}` +
        `${resume ? ' (resume)' : ''}`,
    );
    let summary: TrainSummary;
    try {
      summary = await trainer.run();
    } catch (e) {
      if (!(e instanceof StopRequested)) throw e;
      log(
        `selfsup: stopped by ${e.reason} after step ${e.step} of ${trainer.totalSteps}; ` +
          `checkpoint: ${trainer.lastCheckpoint ?? 'none'}`,
      );
      log(`resume with: ${resumeCommand(runDir, opts)}`);
      return signalExitCode(stop.signal ?? 'SIGTERM');
    }
    if (stop.signal) {
      // The stop came during the last step: the run is complete, only the scores are missing.
      log(
        `selfsup: stopped by ${stop.signal} after the last step (${summary.steps}); checkpoint: ${summary.lastCheckpoint}; ` +
          `the final evaluation was skipped: ${resumeCommand(runDir, opts)} runs it`,
      );
      return signalExitCode(stop.signal);
    }
    stop.phase = 'evaluating';
    const scores = await finalEvaluation(session, splits, log, initialise);
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
      knnPixels: scores.knnPixels,
      checkpoint: summary.lastCheckpoint,
      ...(opts.initFrom && { initFrom: opts.initFrom }),
      ...(skipped.length > 0 && { skippedImages: skipped }),
    };
    await atomicWriteFile(
      join(runDir, 'final.json'),
      new TextEncoder().encode(`${JSON.stringify(result, null, 2)}\n`),
    );
    const pct = (v?: number) => (v === undefined ? 'n/a' : `${v.toFixed(2)}%`);
    const baselines = [
      ...(scores.knnUntrained === undefined
        ? []
        : [`${initialise ? 'at --init-from' : 'untrained network'}: ${pct(scores.knnUntrained)}`]),
      ...(scores.knnPixels === undefined ? [] : [`raw pixels: ${pct(scores.knnPixels)}`]),
    ];
    process.stdout.write(
      `kNN top-1 (k=${config.eval.knnK}): ${pct(scores.knn)}` +
        (baselines.length > 0 ? ` (${baselines.join(', ')})` : '') +
        `\nlinear probe top-1: ${pct(scores.linear)}\n`,
    );
    return 0;
  } finally {
    await runner?.close();
    session.pipeline.dispose();
  }
}

function skippedLine(splits: DataSplits, count: number): string {
  const paths = skippedImages(splits.source);
  // image_folder keeps why (permission denied, not an image, ...); other datasets may not.
  const reasons = (splits.source as { badImageReasons?: Map<string, string> }).badImageReasons;
  const withReason = (p: string) => (reasons?.has(p) ? `${p} (${reasons.get(p)})` : p);
  const shown =
    paths.slice(0, 5).map(withReason).join(', ') +
    (paths.length > 5 ? `, ... (${paths.length - 5} more)` : '');
  return `data: skipped ${count} unreadable image(s) of ${splits.source.length} (onBadImage: skip): ${shown}`;
}
