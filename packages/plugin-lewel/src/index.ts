import { registerType, type AggregatorRegistration, type Plugin } from '@selfsup/core';
import { LewelAggregator, lewelOptionsSchema } from './lewel-aggregator';

export { LewelAggregator, lewelOptionsSchema } from './lewel-aggregator';
export type { LewelOptions } from './lewel-aggregator';

const PLUGIN = '@selfsup/plugin-lewel';

export const lewelRegistration: AggregatorRegistration = {
  type: 'lewel',
  plugin: PLUGIN,
  description:
    'LEWEL alignment aggregator: per-pixel head, alignment maps, grouped pooling into S aligned slots',
  optionsSchema: lewelOptionsSchema,
  create: (ctx) => new LewelAggregator(ctx),
};

/** `{ method: "byol", aggregator: "lewel" }` is LEWEL_B; `{ method: "moco", aggregator: "lewel" }` is LEWEL_M. */
export const lewelPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Aggregator', lewelRegistration);
  },
};

export default lewelPlugin;
