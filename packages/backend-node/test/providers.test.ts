import { afterEach, describe, expect, it, vi } from 'vitest';
import { backendProvidersFrom, describeBackends, selectBackend, tf } from '@selfsup/core';
import {
  NodeBackendProvider,
  NodeGpuBackendProvider,
  TENSORFLOW_BACKEND,
  nodeBackendPlugin,
  nodeBackendRegistrations,
} from '@selfsup/backend-node';
import type { ModuleLoader } from '@selfsup/backend-node';
// After @selfsup/core, which loads the reflect-metadata polyfill tsyringe needs.
import { container as rootContainer } from 'tsyringe';

/** What Node throws for `import('<pkg>')` when the package is not installed. */
function notFound(pkg: string): Error {
  return Object.assign(new Error(`Cannot find package '${pkg}' imported from /work/main/x.js`), {
    code: 'ERR_MODULE_NOT_FOUND',
  });
}

const absentLoader: ModuleLoader = async (pkg) => {
  throw notFound(pkg);
};

/** A backend that tfjs can initialise and dispose; it implements no kernels. */
class FakeTensorflowBackend extends tf.KernelBackend {
  override dispose(): void {}
}

/**
 * Stands in for tfjs-node: importing it registers the "tensorflow" backend (as the real
 * package does) and its module exports `version` with a 'tfjs-node' entry.
 */
function fakeTfjsNode() {
  const factory = vi.fn(() => new FakeTensorflowBackend());
  const loader = vi.fn<ModuleLoader>(async () => {
    tf.registerBackend(TENSORFLOW_BACKEND, factory, 3);
    return { version: { 'tfjs-core': tf.version_core, 'tfjs-node': '4.22.0' } };
  });
  return { factory, loader };
}

afterEach(async () => {
  if (tf.findBackendFactory(TENSORFLOW_BACKEND) !== null) tf.removeBackend(TENSORFLOW_BACKEND);
  await tf.setBackend('cpu');
});

describe('node providers without the native packages', () => {
  it('node-gpu probe: unavailable, the reason names the package to install', async () => {
    const a = await new NodeGpuBackendProvider({ loader: absentLoader }).probe();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^not installed: npm install @tensorflow\/tfjs-node-gpu \(CUDA/);
  });

  it('node probe: unavailable, the reason names the package to install', async () => {
    const a = await new NodeBackendProvider({ loader: absentLoader }).probe();
    expect(a.available).toBe(false);
    expect(a.reason).toMatch(/^not installed: npm install @tensorflow\/tfjs-node \(/);
  });

  it('the default loader really finds neither package here', async () => {
    // Neither is installable in this repository's environment; if one ever is, this test says so.
    const a = await new NodeBackendProvider().probe();
    expect(a.available).toBe(false);
    expect(a.reason).toContain('npm install @tensorflow/tfjs-node ');
  });

  it('a package that is present but broken is reported as such, not as missing', async () => {
    const loader: ModuleLoader = async () => {
      throw Object.assign(new Error("Cannot find module 'node-pre-gyp'"), { code: 'MODULE_NOT_FOUND' });
    };
    const a = await new NodeBackendProvider({ loader }).probe();
    expect(a.available).toBe(false);
    expect(a.reason).toContain(
      "@tensorflow/tfjs-node is installed but failed to load (Cannot find module 'node-pre-gyp')",
    );
    expect(a.reason).toContain('npm rebuild @tensorflow/tfjs-node');
  });

  it('an explicit request fails naming the package; activate alone fails the same way', async () => {
    const providers = nodeBackendRegistrations({ loader: absentLoader }).map((r) => r.create());
    await expect(selectBackend({ flag: 'node-gpu', env: {}, providers, log: () => {} })).rejects.toThrow(
      /Backend "node-gpu" \(from --backend\) is not available: not installed: npm install @tensorflow\/tfjs-node-gpu/,
    );
    await expect(new NodeBackendProvider({ loader: absentLoader }).activate({})).rejects.toThrow(
      /node backend unavailable: not installed: npm install @tensorflow\/tfjs-node /,
    );
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('node providers with the package present (fake module)', () => {
  it('probe loads the package once and reports its version, without activating', async () => {
    const { factory, loader } = fakeTfjsNode();
    const p = new NodeBackendProvider({ loader });
    expect(await p.probe()).toEqual({ available: true, version: '4.22.0' });
    expect(await p.probe()).toEqual({ available: true, version: '4.22.0' });
    expect(loader.mock.calls).toEqual([['@tensorflow/tfjs-node']]);
    expect(factory).not.toHaveBeenCalled();
    expect(tf.getBackend()).toBe('cpu');
  });

  it('activate sets the tfjs backend "tensorflow" that the module registered', async () => {
    const { factory, loader } = fakeTfjsNode();
    await new NodeGpuBackendProvider({ loader }).activate({ threads: 2 });
    expect(loader.mock.calls).toEqual([['@tensorflow/tfjs-node-gpu']]);
    expect(factory).toHaveBeenCalledTimes(1);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('auto picks node-gpu when it loads, without loading tfjs-node', async () => {
    const gpu = fakeTfjsNode();
    const node = fakeTfjsNode();
    const lines: string[] = [];
    const r = await selectBackend({
      env: {},
      providers: [
        new NodeBackendProvider({ loader: node.loader }),
        new NodeGpuBackendProvider({ loader: gpu.loader }),
      ],
      log: (l) => lines.push(l),
    });
    expect(r.name).toBe('node-gpu');
    expect(tf.getBackend()).toBe('tensorflow');
    expect(node.loader).not.toHaveBeenCalled();
    expect(lines).toEqual(['backend: node-gpu (auto: first choice available)']);
  });

  it('auto falls to node when node-gpu is absent, saying why', async () => {
    const node = fakeTfjsNode();
    const lines: string[] = [];
    const r = await selectBackend({
      env: {},
      providers: [
        new NodeGpuBackendProvider({ loader: absentLoader }),
        new NodeBackendProvider({ loader: node.loader }),
      ],
      log: (l) => lines.push(l),
    });
    expect(r.name).toBe('node');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^backend: node \(auto: node-gpu unavailable — not installed: npm install @tensorflow\/tfjs-node-gpu \(CUDA/,
    );
  });

  it('once tfjs-node-gpu owns "tensorflow", tfjs-node is not loaded on top of it', async () => {
    const gpu = fakeTfjsNode();
    const node = fakeTfjsNode();
    const d = await describeBackends([
      new NodeGpuBackendProvider({ loader: gpu.loader }),
      new NodeBackendProvider({ loader: node.loader }),
    ]);
    expect(d.map((x) => [x.name, x.available, x.autoPick])).toEqual([
      ['node-gpu', true, true],
      ['node', false, false],
    ]);
    expect(d[1].reason).toContain('@tensorflow/tfjs-node-gpu is already loaded');
    expect(node.loader).not.toHaveBeenCalled();
  });

  it('a module that registers no "tensorflow" backend is unavailable, with the reason', async () => {
    const loader: ModuleLoader = async () => ({ version: '3.0.0' });
    const a = await new NodeBackendProvider({ loader }).probe();
    expect(a.available).toBe(false);
    expect(a.reason).toContain('registered no tfjs "tensorflow" backend');
  });
});

describe('nodeBackendPlugin', () => {
  it('registers node-gpu and node, matching their providers', () => {
    const c = rootContainer.createChildContainer();
    nodeBackendPlugin.register(c);
    const providers = backendProvidersFrom(c);
    expect(providers.map((p) => [p.name, p.autoPriority])).toEqual([
      ['node-gpu', 10],
      ['node', 20],
    ]);
    expect(providers[0]).toBeInstanceOf(NodeGpuBackendProvider);
    expect(providers[1]).toBeInstanceOf(NodeBackendProvider);
    expect(nodeBackendPlugin.name).toBe('@selfsup/backend-node');
  });
});
