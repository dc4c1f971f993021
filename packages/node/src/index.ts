/**
 * @selfsup/node: everything of selfsup that needs Node.js. File datasets and image decoding,
 * checkpoint files, PNG plots and map grids, the progress bar, worker_threads data parallelism,
 * parity fixtures from disk, and the `selfsup` CLI. `@selfsup/core` stays platform-neutral.
 */
import 'reflect-metadata';

export { buildProgram, main } from './cli/main';
export { readConfigFile, applyOverrides } from './cli/config-file';
export { loadPlugins, OFFICIAL_PLUGIN_PACKAGES } from './runtime/plugins';
export type { LoadedPlugins } from './runtime/plugins';
export { prepareRuntime } from './runtime/runtime';
export { fixMallocMmapThreshold } from './runtime/malloc-threshold';
export type { MallocThresholdDeps, MallocThresholdResult } from './runtime/malloc-threshold';
export type { Runtime } from './runtime/runtime';
export { benchConfig, benchViews, runBench } from './cli/commands/bench';
export type { BenchOptions } from './cli/commands/bench';

export { DataParallel } from './parallel/data-parallel';
export type { DataParallelOptions, ParallelGrads } from './parallel/data-parallel';
export { createStepRunner, threadsPerRank } from './parallel/runner';
export type { StepRunner, StepRunnerOptions } from './parallel/runner';
export { startWatchdog } from './parallel/watchdog';
export type { Watchdog } from './parallel/watchdog';
export { StepTimeout, STEP_TIMEOUT_ENV } from './parallel/timeouts';
export type { ReplicaSpec, FaultInjection } from './parallel/protocol';

export * from './data/cifar';
export * from './data/idx';
export * from './data/imageFolder';
export { maybeGunzip } from './data/files';
export { fileDatasetRegistrations, fileDatasetsPlugin } from './data/registrations';

export { atomicWriteFile, defaultAtomicWriteOps } from './io/atomic-write';
export type { AtomicWriteOps } from './io/atomic-write';
export { FileCheckpointStorage } from './io/file-checkpoint-storage';
export { readSafetensors, readSafetensorsWithMetadata, writeSafetensors } from './io/safetensors-files';
export { loadParityFixture } from './parity/load-fixture';
export { writeMapGrid } from './eval/map-grid';
export type { MapGridOptions } from './eval/map-grid';

export { barPlotSvg, linePlotSvg, thinSeries, writeBarPlot, writeLinePlot } from './train/plots';
export type { BarPoint, LinePlotOptions, PlotPoint } from './train/plots';
export { mapsMonitorOptions } from './train/maps-monitor-options';
export { MetricsFileHook } from './train/hooks/metrics-file';
export { PlotsHook } from './train/hooks/plots';
export { ProgressBarHook } from './train/hooks/progress-bar';
export { YieldToEventLoopHook } from './train/hooks/yield-to-event-loop';
export { createRunTrainer, runHooks } from './train/run-trainer';
export type { RunHooksOptions } from './train/run-trainer';

export { parseGrid, parseSeeds, planRuns, combinations, readManifest } from './sweep/plan';
export type { GridAxis, SweepRun, SweepManifest } from './sweep/plan';
export { collectResults } from './sweep/results';
export type { SweepResults, RunResult, CombinationSummary } from './sweep/results';
export { writeSweepTables } from './sweep/tables';
export { slurmScript, kubernetesManifest } from './sweep/emit';
