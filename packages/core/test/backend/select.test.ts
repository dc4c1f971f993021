import { describe, expect, it, vi } from 'vitest';
import {
  CpuBackendProvider,
  Tokens,
  backendProvidersFrom,
  cpuBackendPlugin,
  describeBackends,
  selectBackend,
} from '@selfsup/core';
import type { BackendAvailability, BackendProvider, BackendRegistration } from '@selfsup/core';
// After @selfsup/core, which loads the reflect-metadata polyfill tsyringe needs.
import { container as rootContainer } from 'tsyringe';

/** A provider whose probe/activate outcome is fixed, recording what was called. */
class FakeProvider implements BackendProvider {
  readonly description: string;
  readonly calls: string[] = [];
  constructor(
    readonly name: string,
    readonly autoPriority: number,
    private readonly availability: BackendAvailability,
    private readonly activateError?: string,
  ) {
    this.description = `fake ${name}`;
  }
  async probe(): Promise<BackendAvailability> {
    this.calls.push('probe');
    return this.availability;
  }
  async activate(options: { threads?: number }): Promise<void> {
    this.calls.push(`activate(${options.threads ?? '-'})`);
    if (this.activateError) throw new Error(this.activateError);
  }
}

const GPU_REASON = 'not installed: npm install @tensorflow/tfjs-node-gpu (CUDA)';
const NODE_REASON = 'not installed: npm install @tensorflow/tfjs-node';

/** The real auto order, with the native ones absent and wasm/cpu available. */
function fakes() {
  return {
    gpu: new FakeProvider('node-gpu', 10, { available: false, reason: GPU_REASON }),
    node: new FakeProvider('node', 20, { available: false, reason: NODE_REASON }),
    wasm: new FakeProvider('wasm', 30, { available: true, version: '4.22.0' }),
    cpu: new FakeProvider('cpu', 100, { available: true }),
  };
}

function run(
  options: Omit<Parameters<typeof selectBackend>[0], 'log' | 'providers' | 'env'> & {
    env?: NodeJS.ProcessEnv;
  },
) {
  const f = fakes();
  // Registration order deliberately not auto order: auto must sort by autoPriority.
  const providers = [f.cpu, f.wasm, f.node, f.gpu];
  const lines: string[] = [];
  const result = selectBackend({ env: {}, ...options, providers, log: (l) => lines.push(l) });
  return { f, lines, result };
}

describe('selectBackend: where the request comes from', () => {
  it('--backend beats SELFSUP_BACKEND and config', async () => {
    const { f, lines, result } = run({
      flag: 'cpu',
      env: { SELFSUP_BACKEND: 'wasm' },
      configBackend: 'wasm',
    });
    const r = await result;
    expect([r.name, r.source, r.reason]).toEqual(['cpu', 'flag', 'from --backend']);
    expect(r.provider).toBe(f.cpu);
    expect(f.cpu.calls).toEqual(['probe', 'activate(-)']);
    expect(f.wasm.calls).toEqual([]);
    expect(lines).toEqual(['backend: cpu (from --backend)']);
  });

  it('SELFSUP_BACKEND beats config; an empty flag counts as unset', async () => {
    const { f, lines, result } = run({ flag: '', env: { SELFSUP_BACKEND: 'CPU ' }, configBackend: 'wasm' });
    const r = await result;
    expect([r.name, r.source]).toEqual(['cpu', 'env']);
    expect(f.wasm.calls).toEqual([]);
    expect(lines).toEqual(['backend: cpu (from SELFSUP_BACKEND)']);
  });

  it('config is used when neither flag nor env var is set', async () => {
    const { lines, result } = run({ configBackend: 'cpu' });
    expect((await result).source).toBe('config');
    expect(lines).toEqual(['backend: cpu (from config key "backend")']);
  });

  it('reads process.env when no env is given', async () => {
    const f = fakes();
    vi.stubEnv('SELFSUP_BACKEND', 'cpu');
    try {
      const r = await selectBackend({ providers: [f.wasm, f.cpu], log: () => {} });
      expect([r.name, r.source]).toEqual(['cpu', 'env']);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('"auto" at a higher level means auto, it does not fall through to the next level', async () => {
    const { f, lines, result } = run({ flag: 'auto', env: { SELFSUP_BACKEND: 'cpu' } });
    const r = await result;
    expect([r.name, r.source]).toEqual(['wasm', 'flag']);
    expect(f.cpu.calls).toEqual([]);
    expect(lines).toEqual([
      `backend: wasm (auto, from --backend: node-gpu unavailable — ${GPU_REASON}; node unavailable — ${NODE_REASON})`,
    ]);
  });

  it('passes threads to activate', async () => {
    const { f, result } = run({ flag: 'wasm', threads: 3 });
    await result;
    expect(f.wasm.calls).toEqual(['probe', 'activate(3)']);
  });
});

describe('selectBackend: auto', () => {
  it('tries node-gpu, node, wasm, cpu in that order and takes the first available one', async () => {
    const { f, lines, result } = run({});
    const r = await result;
    expect(r.name).toBe('wasm');
    expect(r.source).toBe('default');
    expect(r.reason).toBe(`auto: node-gpu unavailable — ${GPU_REASON}; node unavailable — ${NODE_REASON}`);
    expect(f.gpu.calls).toEqual(['probe']);
    expect(f.node.calls).toEqual(['probe']);
    expect(f.wasm.calls).toEqual(['probe', 'activate(-)']);
    expect(f.cpu.calls).toEqual([]); // never probed once wasm was taken
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`backend: wasm (${r.reason})`);
  });

  it('moves on when an available backend fails to activate, or its probe throws', async () => {
    const gpu = new FakeProvider('node-gpu', 10, { available: true }, 'CUDA driver too old');
    const node = new FakeProvider('node', 20, { available: true });
    node.probe = async () => {
      throw new Error('binding crashed');
    };
    const cpu = new FakeProvider('cpu', 100, { available: true });
    const lines: string[] = [];
    const r = await selectBackend({ env: {}, providers: [cpu, node, gpu], log: (l) => lines.push(l) });
    expect(r.name).toBe('cpu');
    expect(gpu.calls).toEqual(['probe', 'activate(-)']);
    expect(lines).toEqual([
      'backend: cpu (auto: node-gpu failed to activate — CUDA driver too old; ' +
        'node unavailable — probe failed: binding crashed)',
    ]);
  });

  it('says so when the first choice is available', async () => {
    const f = fakes();
    const lines: string[] = [];
    await selectBackend({ env: {}, providers: [f.cpu, f.wasm], log: (l) => lines.push(l) });
    expect(lines).toEqual(['backend: wasm (auto: first choice available)']);
  });

  it('fails listing every reason when nothing can be activated', async () => {
    const f = fakes();
    const lines: string[] = [];
    const p = selectBackend({ env: {}, providers: [f.node, f.gpu], log: (l) => lines.push(l) });
    await expect(p).rejects.toThrow(
      `No backend could be activated by auto: node-gpu unavailable — ${GPU_REASON}; node unavailable — ${NODE_REASON}`,
    );
    expect(lines).toEqual([]);
  });

  it('fails clearly when no backend is registered at all', async () => {
    await expect(selectBackend({ env: {}, providers: [], log: () => {} })).rejects.toThrow(
      /cpuBackendPlugin/,
    );
  });
});

describe('selectBackend: explicit requests never fall back', () => {
  it('an unavailable backend fails with the probe reason, which names the package', async () => {
    const { f, lines, result } = run({ flag: 'node-gpu' });
    await expect(result).rejects.toThrow(
      `Backend "node-gpu" (from --backend) is not available: ${GPU_REASON}`,
    );
    expect(f.wasm.calls).toEqual([]);
    expect(f.cpu.calls).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('an unknown name fails listing the registered names', async () => {
    const { lines, result } = run({ configBackend: 'webgpu' });
    await expect(result).rejects.toThrow(
      'Unknown backend "webgpu" (from config key "backend"). Registered backends: cpu, node, node-gpu, wasm, or "auto".',
    );
    expect(lines).toEqual([]);
  });

  it('a well-known backend whose plugin is not loaded names the package that provides it', async () => {
    const cpu = new FakeProvider('cpu', 100, { available: true });
    const p = selectBackend({ env: { SELFSUP_BACKEND: 'wasm' }, providers: [cpu], log: () => {} });
    await expect(p).rejects.toThrow(
      'Unknown backend "wasm" (from SELFSUP_BACKEND). Registered backends: cpu, or "auto". ' +
        '"wasm" is provided by @selfsup/backend-wasm',
    );
  });

  it('an activation failure is reported, not replaced by another backend', async () => {
    const wasm = new FakeProvider('wasm', 30, { available: true }, 'no SIMD');
    const cpu = new FakeProvider('cpu', 100, { available: true });
    const p = selectBackend({ flag: 'wasm', env: {}, providers: [wasm, cpu], log: () => {} });
    await expect(p).rejects.toThrow(
      'Backend "wasm" (from --backend) is available but failed to activate: no SIMD',
    );
    expect(cpu.calls).toEqual([]);
  });

  it('rejects two providers with the same name', async () => {
    const a = new FakeProvider('cpu', 100, { available: true });
    const b = new FakeProvider('cpu', 90, { available: true });
    await expect(selectBackend({ env: {}, providers: [a, b], log: () => {} })).rejects.toThrow(
      'Backend "cpu" is given twice',
    );
  });
});

describe('describeBackends', () => {
  it('lists every backend in auto order with availability, and which one auto would pick', async () => {
    const f = fakes();
    const d = await describeBackends([f.cpu, f.wasm, f.node, f.gpu]);
    expect(d).toEqual([
      {
        name: 'node-gpu',
        description: 'fake node-gpu',
        available: false,
        reason: GPU_REASON,
        autoRank: 1,
        autoPick: false,
      },
      {
        name: 'node',
        description: 'fake node',
        available: false,
        reason: NODE_REASON,
        autoRank: 2,
        autoPick: false,
      },
      {
        name: 'wasm',
        description: 'fake wasm',
        available: true,
        version: '4.22.0',
        autoRank: 3,
        autoPick: true,
      },
      { name: 'cpu', description: 'fake cpu', available: true, autoRank: 4, autoPick: false },
    ]);
    // Describing activates nothing.
    for (const p of Object.values(f)) expect(p.calls).toEqual(['probe']);
  });
});

describe('container lookup', () => {
  it('cpuBackendPlugin registers cpu; backendProvidersFrom creates providers from a container', async () => {
    const c = rootContainer.createChildContainer();
    expect(backendProvidersFrom(c)).toEqual([]);
    cpuBackendPlugin.register(c);
    const providers = backendProvidersFrom(c);
    expect(providers.map((p) => [p.name, p.autoPriority])).toEqual([['cpu', 100]]);
    expect(providers[0]).toBeInstanceOf(CpuBackendProvider);
    expect(cpuBackendPlugin.name).toBe('@selfsup/core');
  });

  it('backendProvidersFrom rejects a name registered twice, naming both plugins', () => {
    const c = rootContainer.createChildContainer();
    cpuBackendPlugin.register(c);
    const other: BackendRegistration = {
      type: 'cpu',
      plugin: 'some-plugin',
      create: () => new FakeProvider('cpu', 1, { available: true }),
    };
    c.register(Tokens.Backend, { useValue: other });
    expect(() => backendProvidersFrom(c)).toThrow(
      'Backend "cpu" is registered twice: by @selfsup/core and by some-plugin',
    );
  });

  it('backendProvidersFrom rejects a provider whose name differs from its registration type', () => {
    const c = rootContainer.createChildContainer();
    const bad: BackendRegistration = {
      type: 'fast',
      plugin: 'some-plugin',
      create: () => new FakeProvider('slow', 1, { available: true }),
    };
    c.register(Tokens.Backend, { useValue: bad });
    expect(() => backendProvidersFrom(c)).toThrow('"fast" from some-plugin created a provider named "slow"');
  });
});
