/**
 * Creating and activating the tfjs-backend-wasm module, on whichever runtime ./platform/node
 * resolves to: Node's loader, or in a browser bundle ./platform/browser (package.json
 * "browser" field). The runtime-specific parts live there; this file only sequences them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { platform } from './platform/node';
import type { WasmBackendFactory } from './platform/types';

/** The build variant actually running. */
export type WasmBuild = 'simd' | 'threaded-simd';

export interface WasmState {
  build: WasmBuild;
  threads: number;
}

let state: WasmState | undefined;

/** The runtime this module loads wasm for ('node' or 'browser'). */
export const wasmPlatformName = platform.name;

/** Version of the installed tfjs-backend-wasm. */
export function wasmPackageVersion(): string {
  return platform.packageVersion();
}

/** Build and thread count of the active wasm module, once one was created. */
export function wasmState(): WasmState | undefined {
  return state;
}

let stockFactory: WasmBackendFactory | undefined;

/**
 * Importing tfjs-backend-wasm registers 'wasm' with priority 2, above cpu, which would make wasm
 * the implicit default of every process that merely loads this plugin. Keep its factory but rank
 * it below cpu; `activateWasm` chooses it explicitly.
 */
function demoteStockFactory(): void {
  const factory = tf.findBackendFactory('wasm');
  if (factory == null || stockFactory != null) return;
  stockFactory = factory;
  if (tf.engine().registry['wasm'] != null) return; // already initialised by someone: leave it
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, 0);
}
demoteStockFactory();

/**
 * Creates and activates the wasm backend with `threads` threads (1: the SIMD build, no workers;
 * more: the threaded-SIMD build). Re-activating with a different count replaces the backend
 * (tensors on the old one are lost). Returns what runs.
 */
export async function activateWasm(threads: number): Promise<WasmState> {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`backend-wasm: threads must be a positive integer, got ${threads}`);
  }
  const want: WasmBuild = threads > 1 ? 'threaded-simd' : 'simd';
  if (
    state != null &&
    state.build === want &&
    state.threads === threads &&
    tf.engine().registry['wasm'] != null
  ) {
    if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
    return state;
  }
  const stock = stockFactory;
  if (stock == null)
    throw new Error('backend-wasm: @tensorflow/tfjs-backend-wasm registered no wasm backend');
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  setThreadsCount(threads);
  const factory = want === 'simd' ? platform.simdFactory(stock) : platform.threadedFactory(stock, threads);
  tf.registerBackend('wasm', factory, 0);
  const ok = await tf.setBackend('wasm');
  if (!ok)
    throw new Error(`backend-wasm: the ${want} wasm build failed to initialise (see the warning above)`);
  await tf.ready();
  // Which module runs, not which was asked for: only the threaded one has emscripten's PThread.
  const wasm = (tf.backend() as unknown as { wasm?: { PThread?: unknown } }).wasm;
  state = { build: wasm?.PThread != null ? 'threaded-simd' : 'simd', threads: getThreadsCount() };
  return state;
}
