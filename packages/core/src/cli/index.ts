export { buildProgram, main } from './main';
export { readConfigFile, applyOverrides } from './config-file';
export { loadPlugins } from './plugins';
export type { LoadedPlugins } from './plugins';
export { prepareRuntime } from './runtime';
export type { Runtime } from './runtime';
export { benchConfig, runBench, BENCH_MODEL, BENCH_METHODS } from './commands/bench';
export type { BenchOptions } from './commands/bench';
