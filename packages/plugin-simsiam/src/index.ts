import {
  z,
  defineRegistration,
  registerType,
  type LossRegistration,
  type MethodContext,
  type MethodRegistration,
  type Plugin,
} from '@selfsup/core';
import { SimSiam, simsiamOptionsSchema } from './simsiam';
import { negativeCosine } from './loss';

export { SimSiam, simsiamOptionsSchema } from './simsiam';
export type { SimSiamOptions } from './simsiam';
export { negativeCosine } from './loss';

const PLUGIN = '@selfsup/plugin-simsiam';

export const simsiamRegistration: MethodRegistration = defineRegistration({
  type: 'simsiam',
  plugin: PLUGIN,
  description: 'SimSiam: predictor + stop-gradient, no target network, negative cosine, SGD',
  optionsSchema: simsiamOptionsSchema,
  create: (options, ctx: MethodContext) => new SimSiam(options, ctx),
});

export const negativeCosineRegistration: LossRegistration = defineRegistration({
  type: 'negative_cosine',
  plugin: PLUGIN,
  description: '-cos(online, stopgrad(target)), mean over rows (SimSiam D)',
  optionsSchema: z.object({}).strict(),
  create: () => negativeCosine,
});

export const simsiamPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', simsiamRegistration);
    registerType(container, 'Loss', negativeCosineRegistration);
  },
};

export default simsiamPlugin;
