import { createRequire } from 'node:module';
import { tf } from '@selfsup/core';
import type { BackendAvailability, BackendProvider } from '@selfsup/core';

/** Loads an npm package by name; injectable so tests need not install the native packages. */
export type ModuleLoader = (pkg: string) => Promise<unknown>;

export interface NodeProviderOptions {
  /** How the tfjs-node package is loaded; dynamic import() when omitted. */
  loader?: ModuleLoader;
}

/** The tfjs backend name that both tfjs-node and tfjs-node-gpu register. */
export const TENSORFLOW_BACKEND = 'tensorflow';

/**
 * Node's own require, not import(): both packages are CommonJS, and a bundler or vite would
 * otherwise try to resolve the run-time specifier itself (and report a missing package in its
 * own words). Their tfjs-core copy shares selfsup's engine, which tfjs keeps on the global object.
 */
const defaultLoader: ModuleLoader = async (pkg) => createRequire(import.meta.url)(pkg);

/**
 * tfjs-node and tfjs-node-gpu both register the backend "tensorflow" and each ships its own
 * libtensorflow; only one may be loaded per process. This remembers which one did.
 */
let tensorflowOwner: string | undefined;

type LoadResult = { ok: true; module: unknown } | { ok: false; error: unknown };

/**
 * Native TensorFlow through a tfjs-node package. The package is an optional peer dependency
 * (its install script downloads libtensorflow), so it is loaded only when probed.
 */
abstract class TfjsNodeProvider implements BackendProvider {
  abstract readonly name: string;
  abstract readonly autoPriority: number;
  abstract readonly description: string;
  /** npm package that provides the backend. */
  abstract readonly packageName: string;
  /** What the package needs, shown after the install command. */
  protected abstract readonly requirements: string;

  private readonly loader: ModuleLoader;
  private loaded: Promise<LoadResult> | undefined;

  constructor(options: NodeProviderOptions = {}) {
    this.loader = options.loader ?? defaultLoader;
  }

  async probe(): Promise<BackendAvailability> {
    if (tensorflowOwner !== undefined && tf.findBackendFactory(TENSORFLOW_BACKEND) === null) {
      tensorflowOwner = undefined; // the backend was removed since
    }
    if (tensorflowOwner !== undefined && tensorflowOwner !== this.packageName) {
      return {
        available: false,
        reason:
          `${tensorflowOwner} is already loaded and owns the tfjs "${TENSORFLOW_BACKEND}" backend; ` +
          `${this.packageName} cannot be loaded in the same process`,
      };
    }
    const result = await this.load();
    if (!result.ok) return { available: false, reason: this.loadFailureReason(result.error) };
    if (tf.findBackendFactory(TENSORFLOW_BACKEND) === null) {
      return {
        available: false,
        reason:
          `${this.packageName} loaded but registered no tfjs "${TENSORFLOW_BACKEND}" backend with selfsup's ` +
          `tfjs-core ${tf.version_core}; install a ${this.packageName} of the same major version`,
      };
    }
    const version = versionOf(result.module);
    return version === undefined ? { available: true } : { available: true, version };
  }

  /**
   * Threads are not applied: libtensorflow sizes its thread pools when the package loads
   * (at probe time), from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS if set.
   */
  async activate(_options: { threads?: number } = {}): Promise<void> {
    const availability = await this.probe();
    if (!availability.available) throw new Error(`${this.name} backend unavailable: ${availability.reason}`);
    if (!(await tf.setBackend(TENSORFLOW_BACKEND))) {
      throw new Error(
        `${this.packageName} is loaded but tfjs could not initialise its "${TENSORFLOW_BACKEND}" backend`,
      );
    }
    await tf.ready();
  }

  private load(): Promise<LoadResult> {
    this.loaded ??= (async (): Promise<LoadResult> => {
      const before = tf.findBackendFactory(TENSORFLOW_BACKEND) !== null;
      try {
        const module = await this.loader(this.packageName);
        if (!before && tf.findBackendFactory(TENSORFLOW_BACKEND) !== null) tensorflowOwner = this.packageName;
        return { ok: true, module };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    return this.loaded;
  }

  private loadFailureReason(error: unknown): string {
    const msg = error instanceof Error ? error.message : String(error);
    if (isMissingPackage(error, this.packageName)) {
      return `not installed: npm install ${this.packageName} (${this.requirements})`;
    }
    return (
      `${this.packageName} is installed but failed to load (${msg}); ` +
      `reinstall it with npm rebuild ${this.packageName} (${this.requirements})`
    );
  }
}

/** tfjs-node-gpu: TensorFlow with CUDA. First choice of `auto`. */
export class NodeGpuBackendProvider extends TfjsNodeProvider {
  readonly name = 'node-gpu';
  readonly autoPriority = 10;
  readonly description = 'native TensorFlow with CUDA (@tensorflow/tfjs-node-gpu)';
  readonly packageName = '@tensorflow/tfjs-node-gpu';
  protected readonly requirements =
    'CUDA: Linux x64 with an NVIDIA GPU, CUDA and cuDNN; its install script downloads libtensorflow';
}

/** tfjs-node: TensorFlow on the CPU, multi-threaded native kernels. */
export class NodeBackendProvider extends TfjsNodeProvider {
  readonly name = 'node';
  readonly autoPriority = 20;
  readonly description = 'native TensorFlow on the CPU (@tensorflow/tfjs-node)';
  readonly packageName = '@tensorflow/tfjs-node';
  protected readonly requirements =
    'native TensorFlow for CPU on Linux, macOS or Windows x64; its install script downloads libtensorflow';
}

/** Node's "cannot find" errors for the package itself, not for something it imports. */
function isMissingPackage(error: unknown, pkg: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const msg = error instanceof Error ? error.message : String(error);
  return msg.includes(`'${pkg}'`);
}

/** tfjs-node exports `version` as tfjs's version map plus a 'tfjs-node' entry. */
function versionOf(module: unknown): string | undefined {
  const m = module as { version?: unknown; default?: { version?: unknown } } | null;
  const v = m?.version ?? m?.default?.version;
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') {
    const node = (v as Record<string, unknown>)['tfjs-node'];
    if (typeof node === 'string') return node;
  }
  return undefined;
}
