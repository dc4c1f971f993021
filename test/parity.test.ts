import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runParity, tf } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';

const plugins = [byolPlugin, mocoPlugin, lewelPlugin];
const fixtureDir = (name: string) => fileURLToPath(new URL(`./fixtures/parity/${name}`, import.meta.url));

describe('parity with the PyTorch reference (cpu)', () => {
  for (const name of ['byol', 'moco', 'lewel_b', 'lewel_m']) {
    it(`${name}: losses, embeddings, maps, gradients and state after two steps`, async () => {
      await tf.setBackend('cpu');
      const report = runParity(await loadParityFixture(fixtureDir(name)), plugins);
      const bad = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error} > ${c.bound}`);
      expect(bad).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checks.some((c) => c.name.startsWith('grad.'))).toBe(true);
      expect(report.checks.some((c) => c.name.startsWith('final.'))).toBe(true);
    });
  }
});
