import type * as tf from '@tensorflow/tfjs-core';

/** What tfjs registers as the 'wasm' backend factory. */
export type WasmBackendFactory = () => Promise<tf.KernelBackend> | tf.KernelBackend;

/**
 * What loading tfjs-backend-wasm needs from the runtime it runs in. Node and browsers differ in
 * where the .wasm binaries are, how many cores there are and how the threaded build starts;
 * everything else (the kernels, activation, the provider) is shared.
 */
export interface WasmPlatform {
  readonly name: 'node' | 'browser';
  /** Version of the loaded tfjs-backend-wasm; throws naming the fix when it is not installed. */
  packageVersion(): string;
  /** Threads when none are asked for. */
  defaultThreads(): number;
  /** Why this runtime cannot run the threaded build, or undefined when it can. */
  threadsUnavailableReason(): string | undefined;
  /** The factory of the single-threaded SIMD build (the stock one, told where its binary is). */
  simdFactory(stock: WasmBackendFactory): WasmBackendFactory;
  /** The factory of the threaded-SIMD build with `threads` threads (setThreadsCount is already called). */
  threadedFactory(stock: WasmBackendFactory, threads: number): WasmBackendFactory;
}

let binaryLocation: string | undefined;

/**
 * Where the .wasm binaries are: a URL prefix a page serves them under (with a trailing slash),
 * or a folder in Node. Unset: the installed package's dist/ in Node, and in a browser the folder
 * of the script that loads the module (tfjs's own default).
 */
export function setWasmBinaryLocation(prefix: string | undefined): void {
  if (prefix !== undefined && !prefix.endsWith('/') && !prefix.endsWith('\\')) {
    throw new Error(
      `backend-wasm: setWasmBinaryLocation(${JSON.stringify(prefix)}): expected a prefix ending in '/'`,
    );
  }
  binaryLocation = prefix;
}

export function wasmBinaryLocation(): string | undefined {
  return binaryLocation;
}
