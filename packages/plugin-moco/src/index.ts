import {
  z,
  registerType,
  BENCH_MODEL,
  benchBackbone,
  type BenchPresetRegistration,
  type LossRegistration,
  tf,
  defineRegistration,
  type MethodContext,
  type MethodRegistration,
  type Plugin,
} from '@selfsup/core';
import { MoCo, mocoOptionsSchema } from './moco';
import { batchInfoNce, groupedInfoNce } from './loss';

export { MoCo, mocoOptionsSchema } from './moco';
export type { MocoOptions } from './moco';
export { infoNce, batchInfoNce, groupedInfoNce } from './loss';

const PLUGIN = '@selfsup/plugin-moco';

export const mocoRegistration: MethodRegistration = defineRegistration({
  type: 'moco',
  plugin: PLUGIN,
  description: 'MoCo v2: EMA key encoder, InfoNCE against a FIFO key queue, SGD',
  optionsSchema: mocoOptionsSchema,
  create: (options, ctx: MethodContext) => new MoCo(options, ctx),
});

export const infoNceRegistration: LossRegistration = defineRegistration({
  type: 'info_nce',
  plugin: PLUGIN,
  description: 'InfoNCE with in-batch negatives: row i of online against every target row, positive j = i',
  optionsSchema: z.object({ temperature: z.number().positive().default(0.2) }).strict(),
  create: ({ temperature }) =>
    Object.assign((online: tf.Tensor2D, target: tf.Tensor2D) => batchInfoNce(online, target, temperature), {
      grouped: (online: tf.Tensor3D, target: tf.Tensor3D) => groupedInfoNce(online, target, temperature),
    }),
});

/** `selfsup bench --method moco`: the PyTorch peer's MoCo v2 step (shared/bench/torch_step.py). */
export const mocoBenchPreset: BenchPresetRegistration = {
  type: 'moco',
  plugin: PLUGIN,
  description: 'MoCo v2, heads 1024 -> 256, queue 4096, SGD',
  create: ({ width }) => ({
    method: {
      type: 'moco',
      hiddenDim: BENCH_MODEL.hiddenDim,
      outDim: BENCH_MODEL.outDim,
      queueSize: BENCH_MODEL.queueSize,
      temperature: BENCH_MODEL.temperature,
    },
    aggregator: 'global',
    backbone: benchBackbone(width),
    optimizer: { type: 'sgd', lr: 0.03, weightDecay: 1e-4, momentum: 0.9 },
  }),
};

export const mocoPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', mocoRegistration);
    registerType(container, 'Loss', infoNceRegistration);
    registerType(container, 'BenchPreset', mocoBenchPreset);
  },
};

export default mocoPlugin;
