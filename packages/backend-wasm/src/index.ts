import { defineRegistration, registerType, z, type BackendRegistration, type Plugin } from '@selfsup/core';
import { WasmBackendProvider } from './provider';

export { WasmBackendProvider, defaultWasmThreads } from './provider';
export { registerTrainingKernels, unregisterTrainingKernels, trainingKernelNames } from './kernels';
export { activateWasm, wasmState, wasmPackageVersion, wasmPlatformName } from './wasm_init';
export { setWasmBinaryLocation } from './platform/types';
export type { WasmBuild, WasmState } from './wasm_init';

const PLUGIN = '@selfsup/backend-wasm';

export const wasmBackendRegistration: BackendRegistration = defineRegistration({
  type: 'wasm',
  plugin: PLUGIN,
  description: 'WebAssembly: portable, XNNPACK + SIMD + threads, with the kernels training needs',
  optionsSchema: z.object({}).strict(),
  create: () => new WasmBackendProvider(),
});

export const wasmBackendPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Backend', wasmBackendRegistration);
  },
};

export default wasmBackendPlugin;
