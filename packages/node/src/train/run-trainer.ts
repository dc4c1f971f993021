import { join } from 'node:path';
import {
  CheckpointHook,
  KnnMonitorHook,
  LogHook,
  MapsMonitorHook,
  Trainer,
  type KnnMonitorOptions,
  type MapsMonitorOptions,
  type TrainerHook,
  type TrainerOptions,
} from '@selfsup/core';
import { FileCheckpointStorage } from '../io/file-checkpoint-storage';
import type { AtomicWriteOps } from '../io/atomic-write';
import { MetricsFileHook } from './hooks/metrics-file';
import { PlotsHook } from './hooks/plots';
import { ProgressBarHook } from './hooks/progress-bar';

/** What a run folder gets: checkpoints/, metrics.jsonl, plots/, progress, the kNN and maps monitors. */
export interface RunHooksOptions {
  /** Run directory: checkpoints/, metrics.jsonl, plots/. */
  runDir: string;
  resume?: boolean;
  /** Checkpoint after every N epochs (default 1) and, if set, every N steps. */
  checkpointEveryEpochs?: number;
  checkpointEverySteps?: number;
  /** Checkpoints kept on disk (default 3). */
  keepLast?: number;
  knn?: KnnMonitorOptions;
  /** Alignment-map lift on held-out object masks per epoch (LEWEL on a dataset with masks). */
  maps?: MapsMonitorOptions;
  /** 'bar': progress bar; 'log': a plain line every logEverySteps and per epoch; 'none'. Default 'bar' on a TTY, else 'log'. */
  progress?: 'bar' | 'log' | 'none';
  logEverySteps?: number;
  /** PNG plots in <runDir>/plots after each epoch (default true). */
  plots?: boolean;
  /** File operations of checkpoint writes (tests simulate a full disk). */
  writeOps?: Partial<AtomicWriteOps>;
  /** Hooks added to the standard ones (from config `train.hooks` or code). */
  extraHooks?: TrainerHook[];
}

/** The standard hooks of a run folder. */
export function runHooks(o: RunHooksOptions): TrainerHook[] {
  const hooks: TrainerHook[] = [
    new CheckpointHook({
      storage: new FileCheckpointStorage(join(o.runDir, 'checkpoints'), o.writeOps),
      resume: o.resume,
      everyEpochs: o.checkpointEveryEpochs,
      everySteps: o.checkpointEverySteps,
      keepLast: o.keepLast,
    }),
    new MetricsFileHook(join(o.runDir, 'metrics.jsonl')),
  ];
  if (o.knn) hooks.push(new KnnMonitorHook(o.knn));
  if (o.maps) hooks.push(new MapsMonitorHook(o.maps));
  const mode = o.progress ?? (process.stderr.isTTY ? 'bar' : 'log');
  if (mode === 'bar') hooks.push(new ProgressBarHook());
  if (mode === 'log') hooks.push(new LogHook(o.logEverySteps ?? 50));
  if (o.plots ?? true) hooks.push(new PlotsHook(join(o.runDir, 'plots')));
  return [...hooks, ...(o.extraHooks ?? [])];
}

/** A Trainer writing into a run folder with the standard hooks. */
export function createRunTrainer(o: Omit<TrainerOptions, 'hooks'> & RunHooksOptions): Trainer {
  return new Trainer({ ...o, hooks: runHooks(o) });
}
