/**
 * The webgpu BackendProvider: registration, software-adapter detection, what it says when it
 * cannot start, and, where an adapter exists, probe / auto / explicit activation / release.
 */
import { describe, expect, it } from 'vitest';
// core first: it loads reflect-metadata, which tsyringe needs.
import {
  Tokens,
  selectBackend,
  tf,
  CpuBackendProvider,
  type BackendRegistration,
  type Method,
} from '@selfsup/core';
import { createStepRunner } from '@selfsup/node';
import { container } from 'tsyringe';
import {
  WebGpuBackendProvider,
  describeAdapter,
  formatAdapter,
  releaseWebGpu,
  webgpuBackendPlugin,
} from '../src';
import { createNodeGpu, explainNoAdapter, probeAdapterInChild } from '../src/node-gpu';
import { setUpWebGpu } from './setup';

const webgpu = await setUpWebGpu('provider.test.ts');

describe('webgpu provider (no GPU needed)', () => {
  it('is offered to the container under Tokens.Backend by the plugin, between node-gpu and node', () => {
    const child = container.createChildContainer();
    webgpuBackendPlugin.register(child);
    const reg = child.resolveAll<BackendRegistration>(Tokens.Backend).find((r) => r.type === 'webgpu');
    expect(reg?.plugin).toBe('@selfsup/backend-webgpu');
    const provider = reg!.create();
    expect(provider.name).toBe('webgpu');
    expect(provider.autoPriority).toBeGreaterThan(10);
    expect(provider.autoPriority).toBeLessThan(20);
  });

  it('tells software adapters from hardware ones', () => {
    const swiftshader = describeAdapter({
      vendor: 'google',
      architecture: 'swiftshader',
      device: 'swiftshader-device-subzero-',
      description: 'SwiftShader driver 5.0.0',
    });
    expect(swiftshader.software).toBe(true);
    expect(formatAdapter(swiftshader)).toBe(
      'google swiftshader (SwiftShader driver 5.0.0), software adapter',
    );
    const llvmpipe = describeAdapter({
      vendor: 'mesa',
      description: 'llvmpipe (LLVM 15.0.6, 256 bits)',
    });
    expect(llvmpipe.software).toBe(true);
    expect(describeAdapter({ vendor: 'x', isFallbackAdapter: true }).software).toBe(true);
    expect(describeAdapter({ vendor: 'x' }, { isFallbackAdapter: true }).software).toBe(true);
    const nvidia = describeAdapter(
      {
        vendor: 'nvidia',
        architecture: 'hopper',
        description: 'NVIDIA H200: 570.86',
        isFallbackAdapter: false,
      },
      { isFallbackAdapter: false },
    );
    expect(nvidia.software).toBe(false);
    expect(formatAdapter(nvidia)).toBe('nvidia hopper (NVIDIA H200: 570.86)');
  });

  it('names the npm package to install when Dawn is missing', async () => {
    await expect(createNodeGpu([], 'webgpu-not-installed')).rejects.toThrow(
      'the npm package "webgpu-not-installed" (Dawn, WebGPU for Node) is not installed: npm install webgpu-not-installed',
    );
  });

  it("probes in a child process: no adapter from a missing ICD, Dawn's warnings kept for the diagnosis", async () => {
    const saved = process.env.VK_ICD_FILENAMES;
    try {
      process.env.VK_ICD_FILENAMES = '/nonexistent/icd.json';
      const r = await probeAdapterInChild();
      expect(r.failure).toBeUndefined();
      expect(r.adapter).toBeNull();
      expect(r.stderr).toContain('/nonexistent/icd.json');
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
    }
    const lavapipe =
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.\n - While initializing adapter';
    expect(await explainNoAdapter(lavapipe)).toContain(
      "it refused a Vulkan driver lacking shaderUniform*ArrayDynamicIndexing (Mesa's lavapipe)",
    );
    expect(await explainNoAdapter('')).not.toContain('it refused');
  });

  it('says what is missing when Dawn finds no adapter', async () => {
    const saved = process.env.VK_ICD_FILENAMES;
    try {
      process.env.VK_ICD_FILENAMES = '/nonexistent/icd.json';
      const why = await explainNoAdapter();
      expect(why).toContain('Dawn found no usable Vulkan adapter');
      expect(why).toContain('VK_ICD_FILENAMES names /nonexistent/icd.json, which does not exist');
      expect(why).toContain('lavapipe');
      expect(why).toMatch(/chromium-common|software GPU for tests is installed/);
    } finally {
      if (saved === undefined) delete process.env.VK_ICD_FILENAMES;
      else process.env.VK_ICD_FILENAMES = saved;
    }
  });
});

describe('data parallel on webgpu', () => {
  it('is refused with a clear message before any worker starts', async () => {
    await expect(
      createStepRunner({
        workers: 2,
        method: {} as Method,
        spec: { config: {}, plugins: [], backend: 'webgpu' },
        watchdog: false,
      }),
    ).rejects.toThrow(
      'data parallel (workers > 1) runs on the cpu, wasm and node backends, not webgpu: use 1 worker',
    );
  });
});

describe.skipIf(!webgpu.ok)('webgpu provider on this machine’s adapter', () => {
  it('probe reports the adapter, and a software one is not for auto', async () => {
    const a = await new WebGpuBackendProvider().probe();
    expect(a.available).toBe(true);
    expect(a.version).toBe(tf.version_core);
    expect(a.gpuSource).toBe('dawn');
    expect(a.adapter?.vendor).toBeTruthy();
    expect(a.device).toBe(formatAdapter(a.adapter!));
    expect(a.notForAuto !== undefined).toBe(a.adapter!.software);
  });

  it('auto passes over a software adapter; --backend webgpu activates it; release gives the GPU back', async () => {
    const a = await new WebGpuBackendProvider().probe();
    const lines: string[] = [];
    const providers = [new WebGpuBackendProvider(), new CpuBackendProvider()];
    const auto = await selectBackend({ providers, env: {}, log: (l) => lines.push(l) });
    if (a.adapter!.software) {
      expect(auto.name).toBe('cpu');
      expect(lines[0]).toContain('webgpu not for auto — a software GPU');
    } else {
      expect(auto.name).toBe('webgpu');
    }

    const chosen = await selectBackend({ flag: 'webgpu', providers, env: {}, log: () => undefined });
    expect(chosen.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const gpuBackend = tf.backend() as unknown as { device?: unknown; adapterInfo?: unknown };
    expect(gpuBackend.device).toBeDefined();
    const y = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]));
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    y.dispose();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeDefined();

    await tf.setBackend('cpu');
    await releaseWebGpu();
    expect(tf.findBackendFactory('webgpu')).toBeNull();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();

    // And it starts again after a release (a fresh device).
    await new WebGpuBackendProvider().activate({});
    expect(tf.getBackend()).toBe('webgpu');
    const z = tf.add(tf.scalar(1), tf.scalar(2));
    expect(Array.from(await z.data())).toEqual([3]);
    z.dispose();
    await tf.setBackend('cpu');
    await releaseWebGpu();
  });
});
