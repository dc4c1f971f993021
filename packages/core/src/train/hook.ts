import type { Registration } from '../contracts';
import type { EpochMetrics, StepInfo, TrainSummary } from './state';
import type { Trainer } from './trainer';

/**
 * Something that runs at fixed points of the training loop (MMEngine's hooks): checkpoints,
 * logging, metrics files, plots, the kNN monitor, or a user's own. The loop knows only this
 * interface; hooks run in ascending `priority` at each point.
 */
export interface TrainerHook {
  readonly name: string;
  /** Lower runs first. kNN monitor 20, logging 50, metrics file 60, plots 70, checkpoints 80. Default 50. */
  readonly priority?: number;
  /** Before anything else: restore the trainer's state (the checkpoint hook resumes here). */
  restore?(trainer: Trainer): Promise<void> | void;
  /** After every hook's restore, before the first step. */
  beforeRun?(trainer: Trainer): Promise<void> | void;
  afterStep?(trainer: Trainer, step: StepInfo): Promise<void> | void;
  /** After each epoch (and a partial last one); hooks may add fields to `metrics` for later hooks. */
  afterEpoch?(trainer: Trainer, metrics: EpochMetrics): Promise<void> | void;
  /** After the last step of the run. */
  afterRun?(trainer: Trainer, summary: TrainSummary): Promise<void> | void;
  /** The run is ending, normally or by an error: release what the hook holds (a progress bar). */
  close?(trainer: Trainer): Promise<void> | void;
}

/** A hook `type` that config can name under `train.hooks`. */
export type HookRegistration = Registration<(options: Record<string, unknown>) => TrainerHook>;

export const DEFAULT_HOOK_PRIORITY = 50;
