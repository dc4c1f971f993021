import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { runParity, tf } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { simsiamPlugin } from '@selfsup/plugin-simsiam';
import { simclrPlugin } from '@selfsup/plugin-simclr';

const plugins = [byolPlugin, mocoPlugin, lewelPlugin, simsiamPlugin, simclrPlugin];
/** Every golden fixture: the four of the BYOL/MoCo reference and the four of bench/reference (SimSiam, SimCLR). */
const PARITY_FIXTURES = [
  'byol',
  'moco',
  'lewel_b',
  'lewel_m',
  'simsiam',
  'simclr',
  'lewel_simsiam',
  'lewel_simclr',
];
const fixtureDir = (name: string) => fileURLToPath(new URL(`./fixtures/parity/${name}`, import.meta.url));

describe('parity with the PyTorch reference (cpu)', () => {
  for (const name of PARITY_FIXTURES) {
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

describe('parity runner: the target network must match the fixture', () => {
  it('ema on a fixture of a method without a target is refused; ema: null on one with fails naming it', async () => {
    await tf.setBackend('cpu');
    const simsiam = await loadParityFixture(fixtureDir('simsiam'));
    simsiam.spec.ema = { base_momentum: 0.99, schedule: 'cosine', total_steps: 10 };
    // The base momentum becomes a method option that SimSiam does not take.
    expect(() => runParity(simsiam, plugins)).toThrow(/method: unknown key\(s\) 'baseMomentum'/);
    const byol = await loadParityFixture(fixtureDir('byol'));
    byol.spec.ema = null;
    const b = runParity(byol, plugins);
    expect(b.ok).toBe(false);
    expect(b.checks.filter((c) => !c.ok).map((c) => c.name)).toContain(
      'ema (the fixture has ema: null; the method has a target network)',
    );
  });
});
