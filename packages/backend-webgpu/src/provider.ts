import * as tf from '@tensorflow/tfjs-core';
import type { BackendAvailability, BackendProvider } from '@selfsup/core';
import type { GpuAdapterInfoLike, GpuAdapterLike, GpuDeviceLike, GpuLike } from './gpu-types';
import type { ChildProbe } from './node-gpu';
import { registerWebGpuTrainingKernels } from './kernels';

/** The tfjs backend name tfjs-backend-webgpu's kernels are registered under. */
export const WEBGPU_BACKEND = 'webgpu';
export const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** Adapters that are a CPU pretending to be a GPU: right for exactness tests, never for speed. */
const SOFTWARE_ADAPTER =
  /swiftshader|llvmpipe|lavapipe|softpipe|software rasterizer|basic render driver|\bwarp\b/i;

/** What `probe()` found about the adapter Dawn or the browser offers. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software adapter (SwiftShader, llvmpipe, lavapipe, WARP, or one flagged isFallbackAdapter). */
  software: boolean;
}

export interface WebGpuAvailability extends BackendAvailability {
  adapter?: AdapterDescription;
  /** Where the GPU object came from: the browser's navigator.gpu or Dawn (npm `webgpu`) in Node. */
  gpuSource?: 'browser' | 'dawn';
}

export function describeAdapter(
  info: GpuAdapterInfoLike | undefined,
  adapter?: { readonly isFallbackAdapter?: boolean },
): AdapterDescription {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const flagged = info?.isFallbackAdapter === true || adapter?.isFallbackAdapter === true;
  const software = flagged || SOFTWARE_ADAPTER.test([vendor, architecture, device, description].join(' '));
  return { vendor, architecture, device, description, software };
}

/** One line for `selfsup info`: "google swiftshader (SwiftShader driver 5.0.0), software adapter". */
export function formatAdapter(a: AdapterDescription): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unnamed adapter';
  const detail = a.description || a.device;
  return `${name}${detail ? ` (${detail})` : ''}${a.software ? ', software adapter' : ''}`;
}

const isNode = (): boolean =>
  typeof process !== 'undefined' && typeof process.versions === 'object' && !!process.versions?.node;

interface GpuHandle {
  gpu: GpuLike;
  source: 'browser' | 'dawn';
  dawnVersion?: string;
  /** What this package put on the global object, to take off again at release. */
  installed: 'navigator' | 'navigator.gpu' | 'nothing';
}

type TfjsWebgpuModule = {
  WebGPUBackend: new (device: never, adapterInfo?: never) => tf.KernelBackend;
};

// One GPU object (one Dawn instance) per process, shared by every provider instance.
let gpuHandle: Promise<GpuHandle> | undefined;
let tfjsWebgpu: Promise<TfjsWebgpuModule> | undefined;
let probed: Promise<WebGpuAvailability> | undefined;
let device: GpuDeviceLike | undefined;
let exitHookInstalled = false;
let ourFactory: (() => Promise<tf.KernelBackend>) | undefined;

/** navigator.gpu when there is one (a browser, or a host that set it up); otherwise Dawn in Node. */
async function obtainGpu(): Promise<GpuHandle> {
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (g.navigator?.gpu)
    return { gpu: g.navigator.gpu, source: isNode() ? 'dawn' : 'browser', installed: 'nothing' };
  if (!isNode()) {
    throw new Error(
      'this browser has no WebGPU (navigator.gpu is missing): use Chrome or Edge 113+, Safari 26+, or Firefox 141+ ' +
        '(WebGPU needs a secure context: https or localhost)',
    );
  }
  const { createNodeGpu } = await import('./node-gpu');
  const { gpu, dawnVersion } = await createNodeGpu();
  let installed: GpuHandle['installed'];
  if (g.navigator) {
    // Node >= 21 has a navigator of its own: add gpu to it.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    installed = 'navigator.gpu';
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    installed = 'navigator';
  }
  if (!exitHookInstalled) {
    // A process that holds a GPU device may not exit on its own: give it back when work ends.
    exitHookInstalled = true;
    process.once('beforeExit', () => void releaseWebGpu());
    process.once('exit', releaseAtExit);
  }
  return { gpu, source: 'dawn', ...(dawnVersion !== undefined && { dawnVersion }), installed };
}

function gpu(): Promise<GpuHandle> {
  gpuHandle ??= obtainGpu();
  return gpuHandle;
}

/**
 * tfjs-backend-webgpu, loaded on first use (it registers ~160 kernels). When navigator.gpu
 * existed at import, it also registers a stock 'webgpu' backend at priority 3, above cpu, which
 * would make webgpu the implicit default of every later tfjs call; that registration is replaced
 * by this package's in `activate`.
 */
function loadTfjsWebgpu(): Promise<TfjsWebgpuModule> {
  tfjsWebgpu ??= (async () => {
    const mod = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as TfjsWebgpuModule;
    registerWebGpuTrainingKernels();
    if (tf.findBackendFactory(WEBGPU_BACKEND) != null && tf.engine().registry[WEBGPU_BACKEND] == null) {
      tf.removeBackend(WEBGPU_BACKEND);
    }
    return mod;
  })();
  return tfjsWebgpu;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isMissing(err: unknown, pkg: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message(err).includes(pkg);
}

async function probeOnce(): Promise<WebGpuAvailability> {
  // 1. The tfjs kernels, at tfjs-core's version (kernels of another version misbehave silently).
  let version: string | undefined;
  try {
    await loadTfjsWebgpu();
  } catch (err) {
    tfjsWebgpu = undefined;
    const hint = `npm install ${TFJS_WEBGPU_PACKAGE}@${tf.version_core}`;
    return {
      available: false,
      reason: isMissing(err, TFJS_WEBGPU_PACKAGE)
        ? `${TFJS_WEBGPU_PACKAGE} is not installed (${hint})`
        : `${TFJS_WEBGPU_PACKAGE} failed to load (${message(err)}); reinstall it: ${hint}`,
    };
  }
  if (isNode()) {
    const { packageVersion } = await import('./node-gpu');
    version = await packageVersion(TFJS_WEBGPU_PACKAGE);
    if (version !== undefined && version !== tf.version_core) {
      return {
        available: false,
        version,
        reason: `${TFJS_WEBGPU_PACKAGE} ${version} is installed but tfjs-core is ${tf.version_core} (npm install ${TFJS_WEBGPU_PACKAGE}@${tf.version_core})`,
      };
    }
  }
  const v = version !== undefined ? { version } : {};
  // 2. Dawn: asked in a child process (node-gpu.ts probeAdapterInChild); this process creates
  // its Dawn instance only when the backend is activated.
  const g = globalThis as { navigator?: { gpu?: GpuLike } };
  if (!g.navigator?.gpu && isNode()) {
    const { explainNoAdapter, probeAdapterInChild } = await import('./node-gpu');
    let r: ChildProbe;
    try {
      r = await probeAdapterInChild();
    } catch (err) {
      return { available: false, ...v, reason: message(err) };
    }
    if (r.failure !== undefined) return { available: false, ...v, reason: r.failure, gpuSource: 'dawn' };
    if (r.adapter == null) {
      return { available: false, ...v, reason: await explainNoAdapter(r.stderr), gpuSource: 'dawn' };
    }
    return availableOn(describeAdapter(r.adapter), 'dawn', v);
  }
  // 3. The browser's navigator.gpu (or one a host set up), asked here.
  let handle: GpuHandle;
  try {
    handle = await gpu();
  } catch (err) {
    gpuHandle = undefined;
    return { available: false, ...v, reason: message(err) };
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await handle.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (err) {
    return { available: false, ...v, reason: `navigator.gpu.requestAdapter() failed: ${message(err)}` };
  }
  if (adapter == null) {
    const reason =
      'the browser offers no WebGPU adapter (is hardware acceleration disabled, or the GPU blocklisted?)';
    return { available: false, ...v, reason, gpuSource: handle.source };
  }
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.());
  return availableOn(describeAdapter(info, adapter), handle.source, v);
}

function availableOn(
  a: AdapterDescription,
  gpuSource: 'browser' | 'dawn',
  version: { version?: string },
): WebGpuAvailability {
  return {
    available: true,
    ...version,
    device: formatAdapter(a),
    adapter: a,
    gpuSource,
    ...(a.software && {
      notForAuto: 'a software GPU (exact but slow): used only when asked for, e.g. --backend webgpu',
    }),
  };
}

/** Destroys the device, removes the tfjs backend and what was put on navigator. Idempotent. */
export async function releaseWebGpu(): Promise<void> {
  if (tf.findBackendFactory(WEBGPU_BACKEND) != null) tf.removeBackend(WEBGPU_BACKEND);
  device?.destroy();
  device = undefined;
  ourFactory = undefined;
  const handle = gpuHandle;
  gpuHandle = undefined;
  probed = undefined;
  if (!handle) return;
  const h = await handle.catch(() => undefined);
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (h?.installed === 'navigator') delete (globalThis as { navigator?: unknown }).navigator;
  if (h?.installed === 'navigator.gpu' && g.navigator) delete g.navigator.gpu;
}

/** The device's synchronous part of release, for process 'exit' (where nothing async runs). */
function releaseAtExit(): void {
  device?.destroy();
  device = undefined;
}

/** The stock factory's device request: the same optional features and raised limits. */
async function createBackend(handle: GpuHandle, mod: TfjsWebgpuModule): Promise<tf.KernelBackend> {
  const adapter = await handle.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter == null) throw new Error('requestAdapter() returned no adapter');
  const requiredFeatures = ['timestamp-query', 'bgra8unorm-storage'].filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {};
  for (const k of [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ]) {
    if (typeof l[k] === 'number') requiredLimits[k] = l[k];
  }
  const dev = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const info = adapter.info ?? (await adapter.requestAdapterInfo?.());
  device = dev;
  void dev.lost?.then((lost) => {
    if (device === dev && lost.reason !== 'destroyed') {
      console.warn(
        `backend 'webgpu': the GPU device was lost (${lost.message ?? lost.reason ?? 'no reason given'})`,
      );
    }
  });
  return new mod.WebGPUBackend(dev as never, info as never);
}

/**
 * WebGPU through tfjs-backend-webgpu: Dawn's Vulkan, Metal or D3D12 in Node (npm `webgpu`), or
 * the browser's navigator.gpu. `auto` takes it only on a hardware adapter; a software adapter
 * (SwiftShader, llvmpipe) is used when asked for by name, which is how the tests run it.
 * Every read of tensor values must be asynchronous on this backend (no dataSync).
 */
export class WebGpuBackendProvider implements BackendProvider {
  readonly name = WEBGPU_BACKEND;
  readonly autoPriority = 15;
  readonly description =
    'WebGPU (@tensorflow/tfjs-backend-webgpu; Dawn in Node via npm webgpu, or the browser)';

  probe(): Promise<WebGpuAvailability> {
    probed ??= probeOnce();
    return probed;
  }

  // Threads do not apply: the GPU runs the kernels.
  async activate(_options: { threads?: number } = {}): Promise<void> {
    const availability = await this.probe();
    if (!availability.available) throw new Error(`backend 'webgpu' is not available: ${availability.reason}`);
    const [handle, mod] = await Promise.all([gpu(), loadTfjsWebgpu()]);
    if (ourFactory == null || tf.findBackendFactory(WEBGPU_BACKEND) !== ourFactory) {
      if (tf.findBackendFactory(WEBGPU_BACKEND) != null) tf.removeBackend(WEBGPU_BACKEND);
      const factory = () => createBackend(handle, mod);
      // Priority 0, below cpu: webgpu runs only when chosen.
      tf.registerBackend(WEBGPU_BACKEND, factory, 0);
      ourFactory = factory;
    }
    if (!(await tf.setBackend(WEBGPU_BACKEND))) {
      throw new Error(
        "backend 'webgpu': tfjs could not initialise the WebGPU device (see the warning above)",
      );
    }
    await tf.ready();
  }

  /** The adapter the last probe found, once probed. */
  async adapter(): Promise<AdapterDescription | undefined> {
    return (await this.probe()).adapter;
  }
}
