import {
  z,
  defineRegistration,
  registerType,
  type LossRegistration,
  type MethodContext,
  type MethodRegistration,
  type Plugin,
} from '@selfsup/core';
import { BYOL, byolOptionsSchema } from './byol';
import { normalizedMse } from './loss';

export { BYOL, byolOptionsSchema } from './byol';
export type { ByolOptions } from './byol';
export { normalizedMse } from './loss';

const PLUGIN = '@selfsup/plugin-byol';

export const byolRegistration: MethodRegistration = defineRegistration({
  type: 'byol',
  plugin: PLUGIN,
  description: 'BYOL: predictor + EMA target, symmetric normalised MSE, LARS, cosine EMA',
  optionsSchema: byolOptionsSchema,
  create: (options, ctx: MethodContext) => new BYOL(options, ctx),
});

export const normalizedMseRegistration: LossRegistration = defineRegistration({
  type: 'normalized_mse',
  plugin: PLUGIN,
  description: '2 - 2 cos(online, target), mean over rows',
  optionsSchema: z.object({}).strict(),
  create: () => normalizedMse,
});

export const byolPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', byolRegistration);
    registerType(container, 'Loss', normalizedMseRegistration);
  },
};

export default byolPlugin;
