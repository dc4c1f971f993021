import type { StepResult } from '../contracts';
import type { EpochSamplerState } from '../data/batch';

/** One line of metrics.jsonl: the state at the end of an epoch. */
export interface EpochMetrics {
  /** Epochs completed (1 for the first). */
  epoch: number;
  /** Optimizer steps done so far. */
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Mean of each loss term over the epoch. */
  terms: Record<string, number>;
  /** Learning rate and target EMA momentum of the epoch's last step (ema null: no target network). */
  lr: number;
  ema: number | null;
  /** Training throughput of the epoch (images per second, both views count as one image). */
  imgs_per_s: number;
  /** Wall-clock seconds of the epoch in this process. */
  seconds: number;
  /** kNN top-1 % when measured at this epoch. */
  knn?: number;
  /** The run ended (maxSteps) before the epoch did. */
  partial?: boolean;
  /** Other hooks' per-epoch numbers (e.g. the maps' lift). */
  [extra: string]: unknown;
}

export interface StepInfo extends StepResult {
  /** Steps done, this one included (1 for the first step). */
  step: number;
  epoch: number;
  batch: number;
  lr: number;
  /** Target EMA momentum of the step; null for a method without a target network. */
  ema: number | null;
  /** Images per second since the epoch began in this process. */
  imgsPerS: number;
}

export interface TrainSummary {
  steps: number;
  epochs: number;
  metrics: EpochMetrics[];
  lastCheckpoint?: string;
  /** Step the run started from (> 0 when resumed). */
  resumedFrom: number;
}

export interface EpochAccumulator {
  lossSum: number;
  termSums: Record<string, number>;
  steps: number;
}

/** Per-step curve kept for the plots, thinned by halving once it exceeds MAX_HISTORY points. */
export interface History {
  stride: number;
  points: Array<[step: number, loss: number, lr: number, ema: number | null]>;
}

const MAX_HISTORY = 4000;

export function pushHistory(h: History, p: History['points'][number]): void {
  if ((p[0] - 1) % h.stride !== 0) return;
  h.points.push(p);
  if (h.points.length > MAX_HISTORY) {
    h.stride *= 2;
    h.points = h.points.filter(([s]) => (s - 1) % h.stride === 0);
  }
}

/** Checkpoint meta written by the trainer: everything exact resume needs besides the tensors. */
export interface TrainerMeta {
  format: 'selfsup-trainer-v1';
  step: number;
  epoch: number;
  /** Sampler position after `step` steps. */
  sampler: EpochSamplerState;
  /** Generator of trainer-level randomness; augmentation derives from (seed, epoch, index). */
  rng: { state: number; spareNormal: number | null };
  seed: number;
  configHash?: string;
  /** The settings the config hash covers (absent in checkpoints of older versions). */
  configSettings?: Record<string, unknown>;
  batchSize: number;
  datasetLength: number;
  stepsPerEpoch: number;
  totalSteps: number;
  methodType: string;
  optimizerType: string;
  /** Optimizer state keys stored in their parameter's PyTorch layout. */
  optimizerTorchLayout: string[];
  methodExtra?: Record<string, unknown>;
  epochAcc: EpochAccumulator;
  metrics: EpochMetrics[];
  history: History;
}

export function formatEpoch(m: EpochMetrics, epochs: number): string {
  const knn = m.knn === undefined ? '' : ` knn ${m.knn.toFixed(2)}%`;
  const lift = typeof m.maps_lift === 'number' ? ` maps lift ${m.maps_lift.toFixed(2)}x` : '';
  return (
    `epoch ${m.epoch}/${epochs}${m.partial ? ' (partial)' : ''} step ${m.step} loss ${m.loss.toFixed(4)} ` +
    `lr ${m.lr.toExponential(3)}${formatEma(m.ema)} ${m.imgs_per_s.toFixed(1)} img/s${knn}${lift}`
  );
}

/** ` ema 0.99600` for a method with a target network; nothing for one without. */
export function formatEma(ema: number | null): string {
  return ema === null ? '' : ` ema ${ema.toFixed(5)}`;
}
