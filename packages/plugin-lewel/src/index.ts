import {
  registerType,
  BENCH_MODEL,
  benchPresetConfig,
  type AggregatorRegistration,
  type BenchPresetRegistration,
  type Plugin,
} from '@selfsup/core';
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

/**
 * `selfsup bench --method lewel_b|lewel_m`: the base method's own preset (whoever registered it)
 * with the LEWEL aggregator; LEWEL knows the base only by name.
 */
const lewelBenchPreset = (type: string, base: string): BenchPresetRegistration => ({
  type,
  plugin: PLUGIN,
  description: `${base} bench preset + LEWEL (${BENCH_MODEL.heads} heads)`,
  create: (shape, container) => ({
    ...benchPresetConfig(container, base, shape),
    aggregator: { type: 'lewel', heads: BENCH_MODEL.heads },
  }),
});

/** `{ method: "byol", aggregator: "lewel" }` is LEWEL_B; `{ method: "moco", aggregator: "lewel" }` is LEWEL_M. */
export const lewelPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Aggregator', lewelRegistration);
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_b', 'byol'));
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_m', 'moco'));
  },
};

export default lewelPlugin;
