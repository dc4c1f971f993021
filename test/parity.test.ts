import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { runParity, tf } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { simsiamPlugin } from '@selfsup/plugin-simsiam';
import { simclrPlugin } from '@selfsup/plugin-simclr';
import { PARITY_FIXTURES, PARITY_FIXTURES_DIR, parityFixtureDir as fixtureDir } from './parity-fixtures';

const plugins = [byolPlugin, mocoPlugin, lewelPlugin, simsiamPlugin, simclrPlugin];

describe('parity with the PyTorch reference (cpu)', () => {
  it('the parity tests cover every fixture folder', () => {
    const folders = readdirSync(PARITY_FIXTURES_DIR, { withFileTypes: true }).filter((e) => e.isDirectory());
    expect(folders.map((e) => e.name).sort()).toEqual([...PARITY_FIXTURES].sort());
  });

  for (const name of PARITY_FIXTURES) {
    it(`${name}: losses, embeddings, maps, gradients and state after its steps`, async () => {
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
