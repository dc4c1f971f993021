import { describe, expect, it, beforeAll } from 'vitest';
import { runParity, tf, ResNet } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { simsiamPlugin } from '@selfsup/plugin-simsiam';
import { simclrPlugin } from '@selfsup/plugin-simclr';
import { WasmBackendProvider } from '@selfsup/backend-wasm';
import { PARITY_FIXTURES, parityFixtureDir as fixtureDir } from './parity-fixtures';

const plugins = [byolPlugin, mocoPlugin, lewelPlugin, simsiamPlugin, simclrPlugin];

describe('wasm backend', () => {
  beforeAll(async () => {
    await new WasmBackendProvider().activate({ threads: 1 });
  });

  for (const name of PARITY_FIXTURES) {
    it(`${name}: parity with the PyTorch reference on wasm`, async () => {
      await tf.setBackend('wasm');
      const report = runParity(await loadParityFixture(fixtureDir(name)), plugins);
      expect(report.backend).toBe('wasm');
      expect(report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error} > ${c.bound}`)).toEqual([]);
      expect(report.ok).toBe(true);
    });
  }

  it('a small ResNet gives the same forward output (1e-5) on cpu and wasm', async () => {
    const out: Record<string, Float32Array> = {};
    const input = new Float32Array(2 * 20 * 20 * 3).map((_, i) => Math.sin(i * 0.37) * 2);
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      // Same seed, same weights: the init is plain JS, independent of the backend.
      const net = new ResNet({ block: 'basic', blocks: [1, 1], widths: [8, 16], stem: 'imagenet', seed: 7 });
      for (const mode of ['train', 'eval'] as const) {
        net.train(mode === 'train');
        const y = tf.tidy(() => net.forward(tf.tensor4d(input, [2, 20, 20, 3])));
        out[`${backend}.${mode}`] = y.dataSync() as Float32Array;
        y.dispose();
      }
      net.dispose();
    }
    for (const mode of ['train', 'eval']) {
      const a = out[`cpu.${mode}`];
      const b = out[`wasm.${mode}`];
      expect(b.length).toBe(a.length);
      const maxRef = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      expect(maxDiff).toBeLessThanOrEqual(1e-5 * Math.max(1, maxRef));
    }
  });
});
