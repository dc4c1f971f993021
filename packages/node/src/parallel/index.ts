export { DataParallel } from './data-parallel';
export type { DataParallelOptions, ParallelGrads } from './data-parallel';
export { createStepRunner, threadsPerRank } from './runner';
export type { StepRunner, StepRunnerOptions } from './runner';
export { startWatchdog } from './watchdog';
export type { Watchdog } from './watchdog';
export { StepTimeout, STEP_TIMEOUT_ENV } from './timeouts';
export type { ReplicaSpec, FaultInjection } from './protocol';
