/**
 * Loading tfjs-backend-wasm in a browser page or worker: the stock loader, told where the page
 * serves the .wasm binaries, with the threaded build only when the page is cross-origin isolated
 * (SharedArrayBuffer needs COOP/COEP headers). Chosen over ./node by the "browser" field of
 * package.json, so a bundler never takes the Node loader.
 */
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmBinaryLocation, type WasmBackendFactory, type WasmPlatform } from './types';

/** The flag tfjs reads to choose between the SIMD and the threaded-SIMD module. */
const MULTITHREAD_FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';

interface BrowserGlobals {
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}
const globals = globalThis as BrowserGlobals;

function useBinaryLocation(): void {
  const prefix = wasmBinaryLocation();
  if (prefix !== undefined) setWasmPaths(prefix);
}

export const platform: WasmPlatform = {
  name: 'browser',

  packageVersion: () => version_wasm,

  defaultThreads: () => Math.min(8, Math.max(1, globals.navigator?.hardwareConcurrency ?? 1)),

  threadsUnavailableReason() {
    if (globals.crossOriginIsolated !== true) {
      return 'the page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
    }
    if (typeof SharedArrayBuffer === 'undefined') return 'this browser has no SharedArrayBuffer';
    return undefined;
  },

  simdFactory(stock: WasmBackendFactory): WasmBackendFactory {
    useBinaryLocation();
    tf.env().set(MULTITHREAD_FLAG, false);
    return stock;
  },

  threadedFactory(stock: WasmBackendFactory, threads: number): WasmBackendFactory {
    useBinaryLocation();
    // Checked by threadsUnavailableReason before: the stock loader may take the threaded module.
    tf.env().set(MULTITHREAD_FLAG, true);
    return async () => {
      // The C++ side caps the thread pool at emscripten_num_logical_cores() / 2 (it assumes two
      // hyper-threads per core), which is navigator.hardwareConcurrency here: on 2 cores that
      // allows one thread. Report enough cores while the backend starts, as the Node loader
      // does with os.cpus().
      const nav = globals.navigator;
      if (nav === undefined) return stock();
      const real = nav.hardwareConcurrency ?? 1;
      const own = Object.getOwnPropertyDescriptor(nav, 'hardwareConcurrency');
      Object.defineProperty(nav, 'hardwareConcurrency', {
        configurable: true,
        get: () => Math.max(real, 2 * threads),
      });
      try {
        return await stock();
      } finally {
        if (own) Object.defineProperty(nav, 'hardwareConcurrency', own);
        else delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
      }
    };
  },
};
