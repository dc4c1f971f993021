/**
 * glibc's malloc raises its mmap threshold each time it frees a block it had mmapped, up to
 * 32 MiB. Node and V8 free blocks of about 1 MiB while starting up (a module's source, compiler
 * zones), and from then on the buffers libvips and cairo take for every plot (140-380 KiB, on
 * libuv's and libvips' worker threads) come from those threads' malloc arenas instead, which keep
 * them: RSS then grows by 30-40 MB over a training run's first few hundred plots before it levels
 * off (docs/PERFORMANCE.md, "Soak"). Fixing the threshold at glibc's own default, 128 KiB, hands
 * such blocks back to the system when they are freed, as glibc does before its first adjustment.
 *
 * mallopt is reached through koffi (an optional dependency); without it, off glibc, or when the
 * user has set a threshold (GLIBC_TUNABLES, MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_),
 * nothing is changed.
 */

/** mallopt's parameter numbers (malloc.h). */
export const M_TRIM_THRESHOLD = -1;
export const M_MMAP_THRESHOLD = -3;
/**
 * glibc's defaults for both (DEFAULT_MMAP_THRESHOLD_MIN, DEFAULT_TRIM_THRESHOLD), the values it
 * starts from. Each adjustment also doubles the trim threshold, the free space an arena keeps at
 * its top before handing it back, so that is reset too.
 */
export const MMAP_THRESHOLD_BYTES = 128 * 1024;
export const TRIM_THRESHOLD_BYTES = 128 * 1024;

export type MallocThresholdResult =
  | { applied: true; mmapThresholdBytes: number; trimThresholdBytes: number }
  | { applied: false; reason: string };

/** glibc's malloc, as far as this needs it. */
export interface GlibcMalloc {
  /** gnu_get_libc_version(), e.g. "2.36". */
  version: string;
  mallopt(param: number, value: number): number;
}

export interface MallocThresholdDeps {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** glibc's functions, or why they cannot be reached (another C library, no koffi). */
  loadGlibc: () => Promise<GlibcMalloc | { missing: string }>;
}

export const defaultMallocThresholdDeps: MallocThresholdDeps = {
  platform: process.platform,
  env: process.env,
  loadGlibc: async () => {
    let koffi: (typeof import('koffi'))['default'];
    try {
      koffi = (await import('koffi')).default;
    } catch {
      return { missing: 'the optional dependency koffi is not installed' };
    }
    try {
      // libc.so.6 with gnu_get_libc_version is glibc; musl's libc has another name.
      const libc = koffi.load('libc.so.6');
      const version = (libc.func('const char *gnu_get_libc_version(void)') as () => string)();
      const mallopt = libc.func('int mallopt(int param, int value)') as GlibcMalloc['mallopt'];
      return { version, mallopt };
    } catch {
      return { missing: 'not glibc' };
    }
  },
};

/** A threshold the user chose through glibc's environment, which this must not override. */
function userThreshold(env: NodeJS.ProcessEnv): string | undefined {
  for (const name of ['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_'])
    if (env[name] !== undefined) return name;
  if (/glibc\.malloc\.(mmap|trim)_threshold/.test(env.GLIBC_TUNABLES ?? '')) return 'GLIBC_TUNABLES';
  return undefined;
}

/**
 * Fixes glibc's mmap and trim thresholds at 128 KiB (see the file comment); says whether it did
 * and why not.
 */
export async function fixMallocMmapThreshold(
  deps: MallocThresholdDeps = defaultMallocThresholdDeps,
): Promise<MallocThresholdResult> {
  if (deps.platform !== 'linux') return { applied: false, reason: `not Linux (${deps.platform})` };
  const chosen = userThreshold(deps.env);
  if (chosen) return { applied: false, reason: `set by the user (${chosen})` };
  const glibc = await deps.loadGlibc();
  if ('missing' in glibc) return { applied: false, reason: glibc.missing };
  const { mallopt } = glibc;
  // mallopt returns 1 on success. The mmap threshold first: setting it ends the adjustments.
  if (
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) !== 1 ||
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) !== 1
  )
    return { applied: false, reason: 'mallopt refused the setting' };
  return {
    applied: true,
    mmapThresholdBytes: MMAP_THRESHOLD_BYTES,
    trimThresholdBytes: TRIM_THRESHOLD_BYTES,
  };
}
