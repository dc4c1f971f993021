import {
  defineRegistration,
  registerType,
  type AggregatorContext,
  type AggregatorRegistration,
  type Plugin,
} from '@selfsup/core';
import { LewelAggregator, lewelOptionsSchema } from './lewel-aggregator';

export { LewelAggregator, lewelOptionsSchema } from './lewel-aggregator';
export { LewelAlignedBranch } from './aligned-branch';
export type { LewelOptions } from './lewel-aggregator';

const PLUGIN = '@selfsup/plugin-lewel';

export const lewelRegistration: AggregatorRegistration = defineRegistration({
  type: 'lewel',
  plugin: PLUGIN,
  description:
    'LEWEL alignment aggregator: per-pixel head, alignment maps, grouped pooling into S aligned slots, and their objective',
  optionsSchema: lewelOptionsSchema,
  create: (options, ctx: AggregatorContext) => new LewelAggregator(options, ctx),
});

/**
 * `{ method: "byol", aggregator: "lewel" }` is LEWEL_B, `{ method: "moco", aggregator: "lewel" }`
 * LEWEL_M; any method built on core's BaseMethod composes the same way (simsiam, simclr).
 */
export const lewelPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Aggregator', lewelRegistration);
  },
};

export default lewelPlugin;
