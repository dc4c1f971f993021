export {
  trainStep,
  trainStepAsync,
  lossAndGrads,
  disposeLossAndGrads,
  applyGradients,
  NonFiniteLossError,
} from './step';
export type { LossAndGrads, StepFn } from './step';
export { Trainer } from './trainer';
export type {
  EpochMetrics,
  KnnMonitorOptions,
  StepInfo,
  TrainerMeta,
  TrainerOptions,
  TrainSummary,
} from './trainer';
export { mixSeed } from './seeds';
export { linePlotSvg, writeLinePlot } from './plots';
export type { LinePlotOptions, PlotPoint } from './plots';
