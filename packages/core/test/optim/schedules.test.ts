import { describe, expect, it } from 'vitest';
import {
  constantLr,
  emaMomentum,
  lrScheduleRegistrations,
  optimizerRegistrations,
  scaleLr,
  warmupCosineLr,
} from '../../src/optim';

describe('warmupCosineLr', () => {
  // base 1, 4 warm-up steps, 12 steps in all: cosine over the 8 steps 4..11.
  const lr = warmupCosineLr({ baseLr: 1, warmupSteps: 4 });

  it('warms up linearly, reaching base at the last warm-up step', () => {
    expect([0, 1, 2, 3].map((s) => lr(s, 12))).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('decays by a half cosine after warm-up', () => {
    expect(lr(4, 12)).toBe(1); // cos(0)
    expect(lr(6, 12)).toBeCloseTo(0.5 * (1 + Math.SQRT1_2), 12); // pi/4
    expect(lr(8, 12)).toBeCloseTo(0.5, 12); // half-way
    expect(lr(11, 12)).toBeCloseTo(0.5 * (1 + Math.cos((7 * Math.PI) / 8)), 12); // last step
    expect(lr(12, 12)).toBeCloseTo(0, 12);
    expect(lr(50, 12)).toBeCloseTo(0, 12); // past the end stays at finalLr
  });

  it('decays towards finalLr', () => {
    const f = warmupCosineLr({ baseLr: 2, warmupSteps: 0, finalLr: 0.2 });
    expect(f(0, 10)).toBe(2);
    expect(f(5, 10)).toBeCloseTo(1.1, 12);
    expect(f(10, 10)).toBeCloseTo(0.2, 12);
  });

  it('rejects bad options and steps, naming them', () => {
    expect(() => warmupCosineLr({ baseLr: -1, warmupSteps: 0 })).toThrow(/'baseLr'.*-1/);
    expect(() => warmupCosineLr({ baseLr: 1, warmupSteps: 1.5 })).toThrow(/'warmupSteps'.*integer/);
    expect(() => lr(-1, 12)).toThrow(/step/);
    expect(() => lr(0, 0)).toThrow(/totalSteps/);
  });
});

describe('constantLr / scaleLr', () => {
  it('constant is constant', () => {
    const f = constantLr(0.03);
    expect([0, 5, 99].map((s) => f(s, 100))).toEqual([0.03, 0.03, 0.03]);
  });

  it('scales linearly with the batch size (reference 256)', () => {
    expect(scaleLr(0.3, 4096)).toBeCloseTo(4.8, 12);
    expect(scaleLr(0.2, 512, 128)).toBeCloseTo(0.8, 12);
    expect(() => scaleLr(0.3, 0)).toThrow(/batchSize/);
  });
});

describe('emaMomentum', () => {
  it('cosine: base at k = 0, 1 at k = K, pinned values from the BYOL fixture', () => {
    expect(emaMomentum('cosine', 0.99, 0, 10)).toBeCloseTo(0.99, 15);
    // fixtures/parity/byol/fixture.json step 1
    expect(emaMomentum('cosine', 0.99, 1, 10)).toBeCloseTo(0.9902447174185243, 15);
    expect(emaMomentum('cosine', 0.996, 5, 10)).toBeCloseTo(0.998, 15);
    expect(emaMomentum('cosine', 0.99, 10, 10)).toBeCloseTo(1, 15);
    expect(emaMomentum('cosine', 0.99, 20, 10)).toBeCloseTo(1, 15);
  });

  it('constant: base at every step', () => {
    expect(emaMomentum('constant', 0.999, 0, 10)).toBe(0.999);
    expect(emaMomentum('constant', 0.999, 7, 10)).toBe(0.999);
  });

  it('rejects a base outside [0, 1] and unknown schedules', () => {
    expect(() => emaMomentum('cosine', 1.5, 0, 10)).toThrow(/\[0, 1\].*1.5/);
    expect(() => emaMomentum('linear' as 'cosine', 0.99, 0, 10)).toThrow(/'linear'/);
  });
});

describe('registrations', () => {
  const opt = (type: string) => optimizerRegistrations.find((r) => r.type === type)!;
  const sched = (type: string) => lrScheduleRegistrations.find((r) => r.type === type)!;

  it('registers sgd and lars from @selfsup/core with defaults', () => {
    expect(optimizerRegistrations.map((r) => [r.type, r.plugin])).toEqual([
      ['sgd', '@selfsup/core'],
      ['lars', '@selfsup/core'],
    ]);
    const sgd = opt('sgd').create({ weightDecay: 5e-4 }) as unknown as {
      momentum: number;
      weightDecay: number;
    };
    expect([sgd.momentum, sgd.weightDecay]).toEqual([0.9, 5e-4]);
    const lars = opt('lars').create({}) as unknown as { momentum: number; weightDecay: number; eta: number };
    expect([lars.momentum, lars.weightDecay, lars.eta]).toEqual([0.9, 1.5e-6, 0.001]);
  });

  it('rejects unknown keys (lr belongs to the schedule) and bad values', () => {
    expect(opt('sgd').optionsSchema!.safeParse({ lr: 0.03 }).success).toBe(false);
    expect(opt('lars').optionsSchema!.safeParse({ eta: -1 }).success).toBe(false);
    expect(
      opt('lars').optionsSchema!.safeParse({ momentum: 0.9, weightDecay: 1e-6, eta: 0.001 }).success,
    ).toBe(true);
    expect(() => opt('sgd').create({ nesterov: true })).toThrow(/nesterov/);
  });

  it('registers warmup_cosine and constant schedules', () => {
    expect(lrScheduleRegistrations.map((r) => r.type)).toEqual(['warmup_cosine', 'constant']);
    const f = sched('warmup_cosine').create({ baseLr: 1, warmupSteps: 4 });
    expect([f(0, 12), f(8, 12)]).toEqual([0.25, expect.closeTo(0.5, 12)]);
    expect(sched('constant').create({ baseLr: 0.03 })(3, 10)).toBe(0.03);
    expect(sched('warmup_cosine').optionsSchema!.safeParse({ baseLr: 1 }).success).toBe(false);
    expect(sched('constant').optionsSchema!.safeParse({ lr: 1 }).success).toBe(false);
  });
});
