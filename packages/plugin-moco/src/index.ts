import {
  tf,
  z,
  defineRegistration,
  registerType,
  type LossRegistration,
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

export const mocoPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Method', mocoRegistration);
    registerType(container, 'Loss', infoNceRegistration);
  },
};

export default mocoPlugin;
