import {
  z,
  registerType,
  BENCH_MODEL,
  benchBackbone,
  type BenchPresetRegistration,
  type LossRegistration,
  defineRegistration,
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

/** `selfsup bench --method byol`: the PyTorch peer's BYOL step (shared/bench/torch_step.py). */
export const byolBenchPreset: BenchPresetRegistration = {
  type: 'byol',
  plugin: PLUGIN,
  description: 'BYOL, heads 1024 -> 256, LARS',
  create: ({ width }) => ({
    method: { type: 'byol', hiddenDim: BENCH_MODEL.hiddenDim, outDim: BENCH_MODEL.outDim },
    aggregator: 'global',
    backbone: benchBackbone(width),
    optimizer: { type: 'lars', lr: 0.2, weightDecay: 1.5e-6, momentum: 0.9, eta: 0.001 },
  }),
};

export const byolPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', byolRegistration);
    registerType(container, 'Loss', normalizedMseRegistration);
    registerType(container, 'BenchPreset', byolBenchPreset);
  },
};

export default byolPlugin;
