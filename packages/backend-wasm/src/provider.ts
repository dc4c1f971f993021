import * as tf from '@tensorflow/tfjs-core';
import type { BackendAvailability, BackendProvider } from '@selfsup/core';
import { registerTrainingKernels } from './kernels';
import { platform } from './platform/node';
import { activateWasm, wasmPackageVersion, wasmState } from './wasm_init';

/**
 * Threads when none are asked for: every core (Node) or hardwareConcurrency (browser), at most
 * the 8 workers the build preallocates.
 */
export const defaultWasmThreads = (): number => platform.defaultThreads();

/** The tfjs-backend-wasm release whose kernels this package patches. */
export const SUPPORTED_WASM_VERSION = '4.22.0';

// A tiny module using a SIMD instruction (wasm-feature-detect's, as tfjs's own flag uses).
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11,
]);

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
    let version: string;
    try {
      version = wasmPackageVersion();
    } catch (err) {
      return {
        available: false,
        reason: `@tensorflow/tfjs-backend-wasm is not installed (npm install @tensorflow/tfjs-backend-wasm@${SUPPORTED_WASM_VERSION}): ${(err as Error).message}`,
      };
    }
    if (version !== SUPPORTED_WASM_VERSION) {
      return {
        available: false,
        version,
        reason: `@tensorflow/tfjs-backend-wasm ${version} is installed; its kernels are patched for ${SUPPORTED_WASM_VERSION} (npm install @tensorflow/tfjs-backend-wasm@${SUPPORTED_WASM_VERSION})`,
      };
    }
    // (WebAssembly is typed as a namespace only without the DOM lib.)
    const wa = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
    if (wa == null || !wa.validate(SIMD_PROBE)) {
      return {
        available: false,
        version,
        reason:
          platform.name === 'node'
            ? 'this runtime lacks WebAssembly SIMD (Node >= 16.4 has it)'
            : 'this browser lacks WebAssembly SIMD (Chrome 91, Firefox 89, Safari 16.4 and later have it)',
      };
    }
    return { available: true, version };
  }

  /**
   * Loads the wasm module (threaded-SIMD for threads > 1, SIMD for 1), installs the training
   * kernels and makes 'wasm' the active tfjs backend. If the threaded build cannot start (no
   * SharedArrayBuffer or worker_threads; in a browser, a page that is not cross-origin
   * isolated), it says so and runs one thread.
   */
  async activate(options: { threads?: number } = {}): Promise<void> {
    const threads = options.threads ?? defaultWasmThreads();
    if (!Number.isInteger(threads) || threads < 1) {
      throw new Error(`backend 'wasm': threads must be a positive integer, got ${String(options.threads)}`);
    }
    const availability = await this.probe();
    if (!availability.available) throw new Error(`backend 'wasm' is not available: ${availability.reason}`);
    registerTrainingKernels();
    const noThreads = threads > 1 ? platform.threadsUnavailableReason() : undefined;
    if (noThreads !== undefined) {
      console.warn(`backend 'wasm': ${noThreads}; running 1 thread, not ${threads}`);
      await activateWasm(1);
    } else {
      try {
        await activateWasm(threads);
      } catch (err) {
        if (threads === 1) throw err;
        console.warn(
          `backend 'wasm': the threaded build failed to start (${(err as Error).message}); running 1 thread, not ${threads}`,
        );
        await activateWasm(1);
      }
    }
    if (tf.getBackend() !== 'wasm') throw new Error('backend-wasm: tfjs did not switch to wasm');
  }

  /** Build and threads of the running module, for reports. */
  state() {
    return wasmState();
  }
}
