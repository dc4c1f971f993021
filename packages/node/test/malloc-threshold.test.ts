import { describe, expect, it } from 'vitest';
import {
  defaultMallocThresholdDeps,
  fixMallocMmapThreshold,
  M_MMAP_THRESHOLD,
  M_TRIM_THRESHOLD,
  type MallocThresholdDeps,
} from '../src/runtime/malloc-threshold';

/** Deps of a Linux glibc process with mallopt reachable; `calls` records every mallopt call. */
function fakeDeps(over: Partial<MallocThresholdDeps> = {}) {
  const calls: Array<[number, number]> = [];
  const deps: MallocThresholdDeps = {
    platform: 'linux',
    env: {},
    loadGlibc: async () => ({
      version: '2.36',
      mallopt: (param, value) => {
        calls.push([param, value]);
        return 1;
      },
    }),
    ...over,
  };
  return { deps, calls };
}

describe("glibc's malloc thresholds are fixed at start", () => {
  it('sets the mmap threshold, then the trim threshold, to 128 KiB on Linux with glibc', async () => {
    const { deps, calls } = fakeDeps();
    expect(await fixMallocMmapThreshold(deps)).toEqual({
      applied: true,
      mmapThresholdBytes: 131072,
      trimThresholdBytes: 131072,
    });
    expect(calls).toEqual([
      [M_MMAP_THRESHOLD, 131072],
      [M_TRIM_THRESHOLD, 131072],
    ]);
  });

  it('changes nothing off Linux or where glibc cannot be reached', async () => {
    for (const [over, reason] of [
      [{ platform: 'darwin' }, 'not Linux (darwin)'],
      [{ loadGlibc: async () => ({ missing: 'not glibc' }) }, 'not glibc'],
    ] as Array<[Partial<MallocThresholdDeps>, string]>) {
      const { deps, calls } = fakeDeps(over);
      expect(await fixMallocMmapThreshold(deps)).toEqual({ applied: false, reason });
      expect(calls).toEqual([]);
    }
  });

  it("leaves a threshold the user set through glibc's environment alone", async () => {
    for (const [env, reason] of [
      [{ MALLOC_MMAP_THRESHOLD_: '1048576' }, 'set by the user (MALLOC_MMAP_THRESHOLD_)'],
      [{ MALLOC_TRIM_THRESHOLD_: '0' }, 'set by the user (MALLOC_TRIM_THRESHOLD_)'],
      [
        { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=65536' },
        'set by the user (GLIBC_TUNABLES)',
      ],
      [{ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=65536' }, 'set by the user (GLIBC_TUNABLES)'],
    ] as Array<[NodeJS.ProcessEnv, string]>) {
      const { deps, calls } = fakeDeps({ env });
      expect(await fixMallocMmapThreshold(deps)).toEqual({ applied: false, reason });
      expect(calls).toEqual([]);
    }
    // Other tunables are not a threshold choice.
    const { deps } = fakeDeps({ env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } });
    expect((await fixMallocMmapThreshold(deps)).applied).toBe(true);
  });

  it('reports a refused setting', async () => {
    const { deps } = fakeDeps({ loadGlibc: async () => ({ version: '2.36', mallopt: () => 0 }) });
    expect(await fixMallocMmapThreshold(deps)).toEqual({
      applied: false,
      reason: 'mallopt refused the setting',
    });
  });
});

// The real thing, where it applies (Linux, glibc, koffi installed): afterwards a 512 KiB block is mmapped (handed back to the
// system when freed), whatever threshold glibc had adjusted to before.
const real = defaultMallocThresholdDeps;
const mallinfo2 = async () => {
  const koffi = (await import('koffi')).default;
  const fields = [
    'arena',
    'ordblks',
    'smblks',
    'hblks',
    'hblkhd',
    'usmblks',
    'fsmblks',
    'uordblks',
    'fordblks',
    'keepcost',
  ];
  const info = koffi.struct('selfsup_mallinfo2', Object.fromEntries(fields.map((f) => [f, 'size_t'])));
  return koffi.load('libc.so.6').func('mallinfo2', info, []) as () => { hblkhd: number | bigint };
};
const applies = real.platform === 'linux' && !('missing' in (await real.loadGlibc()));
describe.runIf(applies)("this process's glibc", () => {
  it('mmaps a 512 KiB allocation once the thresholds are fixed', async () => {
    const result = await fixMallocMmapThreshold({ ...real, env: {} });
    expect(result.applied).toBe(true);
    const info = await mallinfo2();
    const before = Number(info().hblkhd);
    const block = Buffer.allocUnsafeSlow(512 * 1024);
    block[0] = 1;
    expect(Number(info().hblkhd) - before).toBeGreaterThanOrEqual(512 * 1024);
    expect(block[0]).toBe(1);
  });
});
