/**
 * A backend that works but must not be chosen by `auto` (a software GPU): auto passes over it
 * and says why, an explicit request still uses it, and `info` never marks it as auto's pick.
 */
import { describe, expect, it } from 'vitest';
import { describeBackends, selectBackend } from '@selfsup/core';
import type { BackendAvailability, BackendProvider } from '@selfsup/core';

class FakeProvider implements BackendProvider {
  readonly description: string;
  activated = 0;
  constructor(
    readonly name: string,
    readonly autoPriority: number,
    private readonly availability: BackendAvailability,
  ) {
    this.description = `fake ${name}`;
  }
  async probe(): Promise<BackendAvailability> {
    return this.availability;
  }
  async activate(): Promise<void> {
    this.activated++;
  }
}

const SOFTWARE = 'a software GPU (exact but slow): used only when asked for, e.g. --backend webgpu';
const providers = () => [
  new FakeProvider('webgpu', 15, {
    available: true,
    version: '4.22.0',
    device: 'google swiftshader (SwiftShader driver 5.0.0), software adapter',
    notForAuto: SOFTWARE,
  }),
  new FakeProvider('wasm', 30, { available: true, version: '4.22.0' }),
  new FakeProvider('cpu', 100, { available: true }),
];

describe('notForAuto', () => {
  it('auto skips the backend, naming why, and activates the next one', async () => {
    const ps = providers();
    const lines: string[] = [];
    const chosen = await selectBackend({ providers: ps, env: {}, log: (l) => lines.push(l) });
    expect(chosen.name).toBe('wasm');
    expect(lines).toEqual([`backend: wasm (auto: webgpu not for auto — ${SOFTWARE})`]);
    expect(ps.map((p) => p.activated)).toEqual([0, 1, 0]);
  });

  it('an explicit request (flag, env or config) uses it', async () => {
    for (const opts of [
      { flag: 'webgpu' },
      { env: { SELFSUP_BACKEND: 'webgpu' } },
      { configBackend: 'webgpu' },
    ]) {
      const ps = providers();
      const chosen = await selectBackend({ env: {}, ...opts, providers: ps, log: () => undefined });
      expect(chosen.name).toBe('webgpu');
      expect(ps[0].activated).toBe(1);
    }
  });

  it('describeBackends reports it available with its device, and picks the next one for auto', async () => {
    const d = await describeBackends(providers());
    expect(d.map((b) => [b.name, b.available, b.autoPick])).toEqual([
      ['webgpu', true, false],
      ['wasm', true, true],
      ['cpu', true, false],
    ]);
    expect(d[0].device).toBe('google swiftshader (SwiftShader driver 5.0.0), software adapter');
    expect(d[0].notForAuto).toBe(SOFTWARE);
    expect(d[1].notForAuto).toBeUndefined();
  });
});
