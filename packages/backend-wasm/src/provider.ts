import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendAvailability, BackendProvider } from '@selfsup/core';
import { registerTrainingKernels } from './kernels';
import { activateWasm, wasmPackageDir, wasmPackageVersion, wasmState } from './wasm_init';

/** Threads when none are asked for: every core (the threaded build ran 1.9x faster on 2). */
export const defaultWasmThreads = (): number => Math.max(1, availableParallelism());

/**
 * tfjs-backend-wasm (XNNPACK, SIMD, threads) with the kernels training needs. Portable: no
 * native install, so `auto` takes it whenever the native backends are missing.
 */
export class WasmBackendProvider implements BackendProvider {
  readonly name = 'wasm';
  readonly autoPriority = 30;
  readonly description =
    'WebAssembly (@tensorflow/tfjs-backend-wasm, XNNPACK + SIMD + threads) with training kernels';

  async probe(): Promise<BackendAvailability> {
    try {
      wasmPackageDir();
      return { available: true, version: wasmPackageVersion() };
    } catch (err) {
      return {
        available: false,
        reason: `@tensorflow/tfjs-backend-wasm is not installed (npm install @tensorflow/tfjs-backend-wasm@4.22.0): ${(err as Error).message}`,
      };
    }
  }

  async activate(options: { threads?: number } = {}): Promise<void> {
    registerTrainingKernels();
    await activateWasm(options.threads ?? defaultWasmThreads());
    if (tf.getBackend() !== 'wasm') throw new Error('backend-wasm: tfjs did not switch to wasm');
  }

  /** Build and threads of the running module, for reports. */
  state() {
    return wasmState();
  }
}
