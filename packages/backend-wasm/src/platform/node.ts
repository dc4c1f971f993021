/**
 * Loading tfjs-backend-wasm in Node: wasm binaries located from the installed package (works from
 * src, from the built dist and from an installed tarball), and a threaded-SIMD build that runs in
 * Node. The stock `init()` hands emscripten's pthread workers blob: URLs, which Node's
 * worker_threads cannot load, and the stock flag reports no thread support in Node; here the
 * worker script is written to a real file and the module is instantiated with file paths.
 * A browser bundle takes ./browser instead (package.json "browser" field).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { BackendWasm, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { wasmBinaryLocation, type WasmBackendFactory, type WasmPlatform } from './types';

const req = createRequire(import.meta.url);

/** Folder of the installed @tensorflow/tfjs-backend-wasm package (with a trailing separator). */
export function wasmPackageDir(): string {
  return dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + sep;
}

/** Folder of the .wasm binaries: the one set by setWasmBinaryLocation, else the package's dist/. */
function binaryDir(): string {
  return wasmBinaryLocation() ?? wasmPackageDir() + 'dist' + sep;
}

// Subset of the emscripten module we call into; the rest stays typed by tfjs.
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: unknown;
  PThread?: { terminateAllThreads(): void };
}
type WasmFactory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

/**
 * Writes emscripten's pthread worker script to a real file, once per content (several processes
 * may race: write a private temp file, then rename over the shared name, which is atomic).
 */
function workerScriptFile(): string {
  const { wasmWorkerContents } = req(
    wasmPackageDir() + 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js',
  ) as { wasmWorkerContents: string };
  // The script is kept in a template literal whose `\n` escapes became real newlines inside
  // string literals; escape them again, as the stock loader does before making its Blob.
  const contents = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(contents).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'selfsup-backend-wasm');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `tfjs-backend-wasm-threaded-simd-${hash}.worker.cjs`);
  try {
    if (readFileSync(file, 'utf8') === contents) return file;
  } catch {
    // not written yet
  }
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, file);
  return file;
}

/** Instantiates the threaded-SIMD module with file paths for the worker and main scripts. */
async function createThreadedModule(threads: number): Promise<EmscriptenModule> {
  const dir = wasmPackageDir();
  const mainScript = dir + 'wasm-out/tfjs-backend-wasm-threaded-simd.js';
  const factory = req(mainScript) as WasmFactory;
  const workerFile = workerScriptFile();
  // The C++ side caps the thread pool at emscripten_num_logical_cores() / 2 (it assumes two
  // hyper-threads per core), which emscripten reads from os.cpus() in Node: on a 2-core machine
  // that allows one thread. Report enough cores while the module's static constructors run.
  const os = req('node:os') as { cpus: () => unknown[] };
  const realCpus = os.cpus;
  const cpus = realCpus();
  const needed = Math.max(cpus.length, 2 * threads);
  os.cpus = () => Array.from({ length: needed }, (_, i) => cpus[i % cpus.length]);
  let wasm: EmscriptenModule;
  try {
    wasm = await factory({
      locateFile: (path: string, prefix: string) => {
        if (path.endsWith('.worker.js')) return workerFile;
        if (path.endsWith('.wasm')) return binaryDir() + 'tfjs-backend-wasm-threaded-simd.wasm';
        return prefix + path;
      },
      // A path, not a Blob: the worker evaluates this file to get the module factory.
      mainScriptUrlOrBlob: mainScript,
    });
  } finally {
    os.cpus = realCpus;
  }
  // The same bridge the stock init() installs.
  wasm.tfjs = {
    init: wasm.cwrap('init', null, []),
    initWithThreadsCount: wasm.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: wasm.cwrap('get_threads_count', 'number', []),
    registerTensor: wasm.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: wasm.cwrap('dispose_data', null, ['number']),
    dispose: wasm.cwrap('dispose', null, []),
  };
  return wasm;
}

/**
 * The pool's pthreads wait for work forever, and a ref'd worker keeps Node's event loop alive: a
 * script would never exit. The main thread drives all work synchronously, so the workers need
 * no hold on the loop.
 */
function unrefWorkers(wasm: EmscriptenModule): void {
  type W = { unref?(): void };
  const pt = wasm.PThread as unknown as { runningWorkers?: W[]; unusedWorkers?: W[] } | undefined;
  for (const w of [...(pt?.runningWorkers ?? []), ...(pt?.unusedWorkers ?? [])]) w.unref?.();
}

export const platform: WasmPlatform = {
  name: 'node',

  packageVersion() {
    const pkg = JSON.parse(readFileSync(wasmPackageDir() + 'package.json', 'utf8')) as { version: string };
    return pkg.version;
  },

  /**
   * Every core, at most the 8 workers the build preallocates. Measured on 2 cores
   * (bench/kernels/RESULTS.md): 2 threads double the convolutions and make a ResNet-18 w16
   * training step ~1.3x faster on an idle machine, and cost ~5% when another process keeps a
   * core busy.
   */
  defaultThreads: () => Math.min(8, Math.max(1, availableParallelism())),

  threadsUnavailableReason: () =>
    typeof SharedArrayBuffer === 'undefined' ? 'no SharedArrayBuffer in this runtime' : undefined,

  simdFactory(stock: WasmBackendFactory): WasmBackendFactory {
    // The stock init, told where the binaries are (Node has no URL to fetch them from).
    setWasmPaths(binaryDir());
    return stock;
  },

  threadedFactory(_stock: WasmBackendFactory, threads: number): WasmBackendFactory {
    return async () => {
      const wasm = await createThreadedModule(threads);
      const backend = new BackendWasm(wasm as never); // starts the XNNPACK thread pool
      unrefWorkers(wasm);
      return backend;
    };
  },
};
