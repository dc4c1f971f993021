export {
  trainStep,
  trainStepAsync,
  lossAndGrads,
  disposeLossAndGrads,
  applyGradients,
  NonFiniteLossError,
} from './step';
export type { LossAndGrads, StepFn } from './step';
export { Trainer, StopRequested, configMismatch } from './trainer';
export type { TrainerOptions } from './trainer';
export type { TrainerHook, HookRegistration } from './hook';
export { DEFAULT_HOOK_PRIORITY } from './hook';
export { formatEpoch, pushHistory } from './state';
export type { EpochMetrics, StepInfo, TrainerMeta, TrainSummary, History, EpochAccumulator } from './state';
export { CheckpointHook } from './hooks/checkpoint';
export type { CheckpointHookOptions } from './hooks/checkpoint';
export { KnnMonitorHook } from './hooks/knn-monitor';
export type { KnnMonitorOptions } from './hooks/knn-monitor';
export { LogHook } from './hooks/log';
export { hooksFromConfig } from './hooks/from-config';
export { lrScheduleFromConfig } from './lr-from-config';
export { MapsMonitorHook, makesAlignmentMaps } from './hooks/maps-monitor';
export type { MapsMonitorOptions } from './hooks/maps-monitor';
export { mixSeed } from './seeds';
