import {
  tf,
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
import { SimCLR, simclrOptionsSchema } from './simclr';
import { groupedNtXent, ntXent } from './nt-xent';

export { SimCLR, simclrOptionsSchema } from './simclr';
export type { SimClrOptions } from './simclr';
export { ntXent, groupedNtXent } from './nt-xent';

const PLUGIN = '@selfsup/plugin-simclr';

export const simclrRegistration: MethodRegistration = defineRegistration({
  type: 'simclr',
  plugin: PLUGIN,
  description: 'SimCLR: one network, NT-Xent over both views (in-batch negatives), LARS',
  optionsSchema: simclrOptionsSchema,
  create: (options, ctx: MethodContext) => new SimCLR(options, ctx),
});

export const ntXentRegistration: LossRegistration = defineRegistration({
  type: 'nt_xent',
  plugin: PLUGIN,
  description: 'NT-Xent: each of the 2N rows against the 2N - 1 others, positive = the other view',
  optionsSchema: z.object({ temperature: z.number().positive().default(0.5) }).strict(),
  create: ({ temperature }) =>
    Object.assign((online: tf.Tensor2D, target: tf.Tensor2D) => ntXent(online, target, temperature), {
      grouped: (online: tf.Tensor3D, target: tf.Tensor3D) => groupedNtXent(online, target, temperature),
    }),
});

/** `selfsup bench --method simclr` (the shared bench heads, LARS). */
export const simclrBenchPreset: BenchPresetRegistration = {
  type: 'simclr',
  plugin: PLUGIN,
  description: 'SimCLR, heads 1024 -> 256, NT-Xent, LARS',
  create: ({ width }) => ({
    method: { type: 'simclr', hiddenDim: BENCH_MODEL.hiddenDim, outDim: BENCH_MODEL.outDim },
    aggregator: 'global',
    backbone: benchBackbone(width),
  }),
};

export const simclrPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', simclrRegistration);
    registerType(container, 'Loss', ntXentRegistration);
    registerType(container, 'BenchPreset', simclrBenchPreset);
  },
};

export default simclrPlugin;
