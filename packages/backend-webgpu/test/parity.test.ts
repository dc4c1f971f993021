/**
 * Exactness on webgpu: the four original PyTorch golden fixtures and the LEWEL_B / LEWEL_M ones
 * of other image sizes, batch sizes, seeds and head counts, within test/fixtures/README.md's
 * tolerances (every read asynchronous), and a ResNet forward equal to cpu's to 1e-5.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runParityAsync, tf, ResNet } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { WebGpuBackendProvider, releaseWebGpu } from '../src';
import { setUpWebGpu } from './setup';
import { ORIGINAL_FIXTURES, SHAPE_FIXTURES, parityFixtureDir } from '../../../test/parity-fixtures';

const webgpu = await setUpWebGpu('parity.test.ts');
const plugins = [byolPlugin, mocoPlugin, lewelPlugin];

// A software GPU on a shared machine is slow: shader compiles alone can take tens of seconds.
const SLOW = 300_000;

describe.skipIf(!webgpu.ok)('webgpu backend: exactness', () => {
  beforeAll(async () => {
    await new WebGpuBackendProvider().activate({});
  });
  afterAll(async () => {
    await releaseWebGpu();
  });

  // SimSiam / SimCLR's fixtures run on cpu and wasm only: SwiftShader's time goes to the
  // originals and to the shapes and head counts they do not cover.
  for (const name of [...ORIGINAL_FIXTURES, ...SHAPE_FIXTURES]) {
    it(
      `${name}: parity with the PyTorch reference on webgpu`,
      async () => {
        await tf.setBackend('webgpu');
        const report = await runParityAsync(await loadParityFixture(parityFixtureDir(name)), plugins);
        expect(report.backend).toBe('webgpu');
        expect(report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error} > ${c.bound}`)).toEqual(
          [],
        );
        expect(report.checks.length).toBeGreaterThan(50);
        expect(report.ok).toBe(true);
      },
      SLOW,
    );
  }

  it(
    'a small ResNet gives the same forward output (1e-5) on cpu and webgpu, in train and eval mode',
    async () => {
      const out: Record<string, Float32Array> = {};
      const input = new Float32Array(2 * 20 * 20 * 3).map((_, i) => Math.sin(i * 0.37) * 2);
      for (const backend of ['cpu', 'webgpu']) {
        await tf.setBackend(backend);
        // Same seed, same weights: the init is plain JS, independent of the backend.
        const net = new ResNet({
          block: 'basic',
          blocks: [1, 1],
          widths: [8, 16],
          stem: 'imagenet',
          seed: 7,
        });
        for (const mode of ['train', 'eval'] as const) {
          net.train(mode === 'train');
          const y = tf.tidy(() => net.forward(tf.tensor4d(input, [2, 20, 20, 3])));
          out[`${backend}.${mode}`] = (await y.data()) as Float32Array;
          y.dispose();
        }
        net.dispose();
      }
      for (const mode of ['train', 'eval']) {
        const a = out[`cpu.${mode}`];
        const b = out[`webgpu.${mode}`];
        expect(b.length).toBe(a.length);
        const maxRef = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
        expect(maxRef).toBeGreaterThan(0);
        expect(maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, maxRef));
      }
    },
    SLOW,
  );

  it('a synchronous read fails on webgpu (why every read on these paths is asynchronous)', async () => {
    await tf.setBackend('webgpu');
    const y = tf.tidy(() => tf.square(tf.tensor1d([1, 2, 3])));
    try {
      // Values computed on the GPU: only an asynchronous read can fetch them in Node.
      expect(() => y.dataSync()).toThrow();
      expect(Array.from(await y.data())).toEqual([1, 4, 9]);
    } finally {
      y.dispose();
    }
  });
});
