import {
  z,
  defineRegistration,
  registerType,
  BENCH_MODEL,
  benchBackbone,
  type BenchPresetRegistration,
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

/** `selfsup bench --method simsiam` (the shared bench heads; predictor bottleneck D/4 as the paper). */
export const simsiamBenchPreset: BenchPresetRegistration = {
  type: 'simsiam',
  plugin: PLUGIN,
  description: 'SimSiam, heads 1024 -> 256, predictor 256 -> 64 -> 256, SGD',
  create: ({ width }) => ({
    method: {
      type: 'simsiam',
      hiddenDim: BENCH_MODEL.hiddenDim,
      outDim: BENCH_MODEL.outDim,
      predictorHiddenDim: BENCH_MODEL.outDim / 4,
    },
    aggregator: 'global',
    backbone: benchBackbone(width),
  }),
};

export const simsiamPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', simsiamRegistration);
    registerType(container, 'Loss', negativeCosineRegistration);
    registerType(container, 'BenchPreset', simsiamBenchPreset);
  },
};

export default simsiamPlugin;
