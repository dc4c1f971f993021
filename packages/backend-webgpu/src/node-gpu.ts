/**
 * Node only: WebGPU from Dawn (npm `webgpu`). The provider imports this module lazily, and only
 * when there is no navigator.gpu and the runtime is Node, so a browser bundle never loads it.
 * Every Node-only module is imported through `nodeImport` with a run-time specifier: a bundler
 * building for the browser sees no `webgpu`, no `node:fs`, nothing to resolve.
 */
import type { GpuAdapterInfoLike, GpuLike } from './gpu-types';

type FsModule = typeof import('node:fs');
type ModuleModule = typeof import('node:module');
type ChildProcessModule = typeof import('node:child_process');
type PathModule = typeof import('node:path');
type UrlModule = typeof import('node:url');

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const nodeImport = <T>(specifier: string): Promise<T> =>
  import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;

/** The npm package that provides Dawn for Node. */
export const DAWN_PACKAGE = 'webgpu';

/** Where Debian's chromium-common puts SwiftShader's Vulkan ICD (a software GPU). */
export const DEBIAN_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeGpu {
  gpu: GpuLike;
  /** Version of the `webgpu` package. */
  dawnVersion?: string;
}

/** Thrown when `webgpu` is not installed; the message says what to install. */
export class DawnMissingError extends Error {
  override readonly name = 'DawnMissingError';
}

/**
 * Loads Dawn (`pkg`, the npm package: another name only in tests) and creates a GPU object
 * (navigator.gpu's equivalent). Installs the WebGPU constants tfjs-backend-webgpu reads as
 * globals (GPUBufferUsage, GPUMapMode, ...), but only those the global object does not have yet.
 */
export async function createNodeGpu(options: string[] = [], pkg = DAWN_PACKAGE): Promise<NodeGpu> {
  let dawn: DawnModule;
  try {
    dawn = await nodeImport<DawnModule>(pkg);
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const msg = err instanceof Error ? err.message : String(err);
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(`'${pkg}'`)) {
      throw new DawnMissingError(
        `the npm package "${pkg}" (Dawn, WebGPU for Node) is not installed: npm install ${pkg}`,
      );
    }
    throw new DawnMissingError(
      `the npm package "${pkg}" is installed but its native module failed to load on ` +
        `${process.platform}-${process.arch} (${msg}); reinstall it (npm install ${pkg}) — ` +
        'it ships dawn.node for linux x64/arm64, macOS and Windows x64/arm64',
    );
  }
  const g = globalThis as Record<string, unknown>;
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
  return { gpu: dawn.create(options), dawnVersion: await packageVersion(pkg) };
}

/** What a probe in a child process found: the adapter Dawn offers, or none and why. */
export interface ChildProbe {
  adapter: GpuAdapterInfoLike | null;
  /** What Dawn and the Vulkan loader wrote to stderr (their warnings name refused drivers). */
  stderr: string;
  /** Set when the child itself failed (a driver that crashed it, a timeout). */
  failure?: string;
}

// Run by `node --input-type=module -e`, with the URL of Dawn's module as its argument.
const PROBE_SCRIPT = `
const { create } = await import(process.argv[1]);
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
const i = a && (a.info ?? (a.requestAdapterInfo ? await a.requestAdapterInfo() : {}));
process.stdout.write(JSON.stringify(a && { vendor: i.vendor, architecture: i.architecture, device: i.device,
  description: i.description, isFallbackAdapter: i.isFallbackAdapter ?? a.isFallbackAdapter }));
process.exit(0);
`;

/**
 * Asks Dawn for an adapter in a child Node process, so that probing (selfsup info, auto) keeps
 * Dawn out of this process, keeps its and the Vulkan loader's warnings out of this stderr (they
 * come back in `stderr` for the diagnosis), and survives a driver that crashes its process.
 */
export async function probeAdapterInChild(pkg = DAWN_PACKAGE, timeoutMs = 60_000): Promise<ChildProbe> {
  const { createRequire } = await nodeImport<ModuleModule>('node:module');
  const { pathToFileURL } = await nodeImport<UrlModule>('node:url');
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(pkg);
  } catch {
    throw new DawnMissingError(
      `the npm package "${pkg}" (Dawn, WebGPU for Node) is not installed: npm install ${pkg}`,
    );
  }
  const { execFile } = await nodeImport<ChildProcessModule>('node:child_process');
  return new Promise<ChildProbe>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', PROBE_SCRIPT, pathToFileURL(entry).href],
      { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const how = err.killed
            ? `timed out after ${timeoutMs / 1000} s`
            : err.signal
              ? `was killed by ${err.signal} (a crashing GPU driver?)`
              : `exited with status ${String(err.code)}`;
          const last = stderr.trim().split('\n').slice(-2).join(' ');
          resolve({
            adapter: null,
            stderr,
            failure: `probing the GPU in a child process ${how}${last ? `: ${last}` : ''}`,
          });
          return;
        }
        try {
          resolve({ adapter: JSON.parse(stdout) as GpuAdapterInfoLike | null, stderr });
        } catch {
          resolve({
            adapter: null,
            stderr,
            failure: `the GPU probe printed no result (${stdout.slice(0, 200)})`,
          });
        }
      },
    );
  });
}

/** Version of an installed package, or undefined when it cannot be read. */
export async function packageVersion(pkg: string): Promise<string | undefined> {
  try {
    const { createRequire } = await nodeImport<ModuleModule>('node:module');
    const req = createRequire(import.meta.url);
    return (req(`${pkg}/package.json`) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * The SwiftShader Vulkan ICD of Debian's chromium-common, if installed: the known path, else
 * what `dpkg -L chromium-common` lists.
 */
export async function findSwiftShaderIcd(): Promise<string | undefined> {
  const fs = await nodeImport<FsModule>('node:fs');
  if (fs.existsSync(DEBIAN_SWIFTSHADER_ICD)) return DEBIAN_SWIFTSHADER_ICD;
  try {
    const { execFileSync } = await nodeImport<ChildProcessModule>('node:child_process');
    const listing = execFileSync('dpkg', ['-L', 'chromium-common'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return listing
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.endsWith('vk_swiftshader_icd.json') && fs.existsSync(l));
  } catch {
    return undefined;
  }
}

/** Whether the Vulkan loader (libvulkan.so.1) is in a standard library folder or LD_LIBRARY_PATH. */
async function hasVulkanLoader(): Promise<boolean> {
  const fs = await nodeImport<FsModule>('node:fs');
  const path = await nodeImport<PathModule>('node:path');
  const dirs = [
    ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/lib/x86_64-linux-gnu',
    '/usr/lib/x86_64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1')));
}

/**
 * Why Dawn found no adapter, and what to install: one sentence per platform, naming the
 * Vulkan loader when it is missing and a SwiftShader ICD when one is installed but not named.
 */
export async function explainNoAdapter(dawnStderr = ''): Promise<string> {
  const fs = await nodeImport<FsModule>('node:fs');
  if (process.platform === 'darwin') {
    return 'Dawn found no Metal adapter (WebGPU needs macOS 11+ on a Mac with a Metal GPU)';
  }
  if (process.platform === 'win32') {
    return 'Dawn found no D3D12 or Vulkan adapter: install or update the GPU driver';
  }
  const parts = ['Dawn found no usable Vulkan adapter'];
  if (dawnStderr.includes('shaderUniform')) {
    // What Dawn says when it refuses lavapipe, the driver Debian/Ubuntu install by default.
    parts.push("it refused a Vulkan driver lacking shaderUniform*ArrayDynamicIndexing (Mesa's lavapipe)");
  }
  const icd = process.env.VK_ICD_FILENAMES;
  if (icd) {
    const missing = icd.split(':').filter((f) => f && !fs.existsSync(f));
    parts.push(
      missing.length > 0
        ? `VK_ICD_FILENAMES names ${missing.join(', ')}, which does not exist`
        : `VK_ICD_FILENAMES=${icd} gave no adapter Dawn accepts`,
    );
  }
  if (!(await hasVulkanLoader())) {
    parts.push('the Vulkan loader libvulkan.so.1 is missing (Debian/Ubuntu: apt-get install libvulkan1)');
  }
  const lavapipeRefused = dawnStderr.includes('shaderUniform');
  parts.push(
    "install the GPU's Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: apt-get install mesa-vulkan-drivers)" +
      (lavapipeRefused ? '' : "; Mesa's lavapipe (llvmpipe) is refused by Dawn"),
  );
  const swiftshader = await findSwiftShaderIcd();
  parts.push(
    swiftshader && !icd
      ? `a software GPU for tests is installed: VK_ICD_FILENAMES=${swiftshader} uses it (slow)`
      : `for a software GPU for tests (slow): apt-get install chromium-common, then VK_ICD_FILENAMES=${DEBIAN_SWIFTSHADER_ICD}`,
  );
  return parts.join('; ');
}
