import { z } from 'zod';
import type { LrScheduleRegistration, OptimizerRegistration } from '../contracts';
import { defineRegistration } from '../di/define';
import { LARS } from './lars';
import { SGD } from './sgd';
import { constantLr, warmupCosineLr } from './schedules';

const PLUGIN = '@selfsup/core';
const nonNegative = z.number().finite().nonnegative();

// lr is not an optimizer option: the trainer passes the scheduled lr to every step.
export const sgdOptionsSchema = z
  .object({
    momentum: nonNegative.default(0.9),
    weightDecay: nonNegative.default(1e-4),
  })
  .strict();

export const larsOptionsSchema = z
  .object({
    momentum: nonNegative.default(0.9),
    weightDecay: nonNegative.default(1.5e-6),
    eta: nonNegative.default(0.001),
  })
  .strict();

export const warmupCosineOptionsSchema = z
  .object({
    baseLr: nonNegative,
    warmupSteps: z.number().int().nonnegative(),
    finalLr: nonNegative.default(0),
  })
  .strict();

// `baseLr` as in warmup_cosine, so a trainer can scale the lr the same way for either schedule.
export const constantLrOptionsSchema = z.object({ baseLr: nonNegative }).strict();

export const optimizerRegistrations: OptimizerRegistration[] = [
  defineRegistration({
    type: 'sgd',
    plugin: PLUGIN,
    description: 'SGD with momentum; weight decay on rank > 1 params only (MoCo family)',
    optionsSchema: sgdOptionsSchema,
    create: (options) => new SGD(options),
  }),
  defineRegistration({
    type: 'lars',
    plugin: PLUGIN,
    description: 'LARS; BN affine and biases excluded from adaptation and decay (BYOL family)',
    optionsSchema: larsOptionsSchema,
    create: (options) => new LARS(options),
  }),
];

export const lrScheduleRegistrations: LrScheduleRegistration[] = [
  defineRegistration({
    type: 'warmup_cosine',
    plugin: PLUGIN,
    description: 'linear warm-up over warmupSteps, then cosine decay to finalLr (per step)',
    optionsSchema: warmupCosineOptionsSchema,
    create: (options) => warmupCosineLr(options),
  }),
  defineRegistration({
    type: 'constant',
    plugin: PLUGIN,
    description: 'the same lr at every step',
    optionsSchema: constantLrOptionsSchema,
    create: (options) => constantLr(options.baseLr),
  }),
];
