export { buildProgram, main } from './main';
export { readConfigFile, applyOverrides } from './config-file';
export { loadPlugins } from '../runtime/plugins';
export type { LoadedPlugins } from '../runtime/plugins';
export { prepareRuntime } from '../runtime/runtime';
export type { Runtime } from '../runtime/runtime';
export { benchConfig, runBench } from './commands/bench';
export type { BenchOptions } from './commands/bench';
