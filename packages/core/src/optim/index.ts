export { SGD } from './sgd';
export type { SgdOptions } from './sgd';
export { LARS } from './lars';
export type { LarsOptions } from './lars';
export { MOMENTUM_BUFFER_SUFFIX, isExcluded } from './momentum';
export { warmupCosineLr, constantLr, emaMomentum, scaleLr } from './schedules';
export type { WarmupCosineOptions } from './schedules';
export { emaUpdate } from './ema';
export type { EmaPrefixes } from './ema';
export {
  optimizerRegistrations,
  lrScheduleRegistrations,
  sgdOptionsSchema,
  larsOptionsSchema,
  warmupCosineOptionsSchema,
  constantLrOptionsSchema,
} from './registrations';
