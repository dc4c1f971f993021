import { describe, expect, it } from 'vitest';
import { globalLossWeightAt, lewelOptionsSchema } from '@selfsup/plugin-lewel';

const at = (step: number, stepsPerEpoch = 10) => ({ step, totalSteps: 100, stepsPerEpoch });

describe('LEWEL loss weight warm-up', () => {
  it('is the constant w by default, and outside training', () => {
    expect(lewelOptionsSchema.parse({}).lossWeightWarmupEpochs).toBe(0);
    expect(globalLossWeightAt(0.5, 0, at(0))).toBe(0.5);
    expect(globalLossWeightAt(0.5, 2, undefined)).toBe(0.5);
  });

  it('ramps the global weight linearly from 1 at step 0 to w at the end of the warm-up, then holds it', () => {
    // 2 epochs of 10 steps: the aligned weight (1 - w) * step / 20.
    expect(globalLossWeightAt(0.5, 2, at(0))).toBe(1);
    expect(globalLossWeightAt(0.5, 2, at(5))).toBeCloseTo(0.875, 12);
    expect(globalLossWeightAt(0.5, 2, at(10))).toBeCloseTo(0.75, 12);
    expect(globalLossWeightAt(0.25, 2, at(10))).toBeCloseTo(0.625, 12);
    expect(globalLossWeightAt(0.5, 2, at(20))).toBe(0.5);
    expect(globalLossWeightAt(0.5, 2, at(90))).toBe(0.5);
    // Fractional epochs count in steps.
    expect(globalLossWeightAt(0, 0.5, at(4))).toBeCloseTo(0.2, 12);
  });

  it('refuses a negative warm-up', () => {
    expect(() => lewelOptionsSchema.parse({ lossWeightWarmupEpochs: -1 })).toThrow();
  });
});
