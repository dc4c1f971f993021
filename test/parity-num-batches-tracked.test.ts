/**
 * The parity fixtures predate num_batches_tracked: the runner lets them lack it, and compares it
 * where a fixture has it. Pinned here the way torch counts: the reference runs the online and
 * the target network once per view, in training mode, so each backbone BN counts 2 per step.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runParity, tf, type ParityFixture } from '@selfsup/core';
import { loadParityFixture } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';

const dir = fileURLToPath(new URL('./fixtures/parity/byol', import.meta.url));

/** The fixture with final.<net>.backbone.*.num_batches_tracked pinned to `count`. */
function pinned(fixture: ParityFixture, count: number): ParityFixture {
  const expected = new Map(fixture.expected);
  const bns = [...fixture.init.keys()].filter((k) => /^(online|target)\.backbone\..*running_mean$/.test(k));
  for (const k of bns)
    expected.set(`final.${k.replace(/running_mean$/, 'num_batches_tracked')}`, {
      dtype: 'I64',
      shape: [],
      data: new Float32Array([count]),
    });
  return { ...fixture, expected };
}

describe('parity runner and num_batches_tracked', () => {
  it('a fixture without it passes; one that pins it is compared, and a wrong count fails by name', async () => {
    await tf.setBackend('cpu');
    const fixture = await loadParityFixture(dir);
    expect([...fixture.init.keys()].some((k) => k.endsWith('num_batches_tracked'))).toBe(false);
    expect(runParity(fixture, [byolPlugin]).ok).toBe(true);

    const steps = fixture.spec.steps.length;
    const right = runParity(pinned(fixture, 2 * steps), [byolPlugin]);
    const counted = right.checks.filter((c) => c.name.endsWith('num_batches_tracked'));
    expect(counted.length).toBeGreaterThan(0);
    expect(counted.every((c) => c.ok)).toBe(true);
    expect(right.ok).toBe(true);

    const wrong = runParity(pinned(fixture, 2 * steps + 1), [byolPlugin]);
    expect(wrong.ok).toBe(false);
    expect(wrong.checks.filter((c) => !c.ok).map((c) => c.name)).toContain(
      'final.online.backbone.bn1.num_batches_tracked',
    );
  });
});
