import {
  registerType,
  BENCH_MODEL,
  benchPresetConfig,
  type AggregatorRegistration,
  type BenchPresetRegistration,
  defineRegistration,
  type AggregatorContext,
  type Plugin,
} from '@selfsup/core';
import { LewelAggregator, lewelOptionsSchema } from './lewel-aggregator';

export { LewelAggregator, lewelOptionsSchema, globalLossWeightAt } from './lewel-aggregator';
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

/**
 * `{ method: "byol", aggregator: "lewel" }` is LEWEL_B, `{ method: "moco", aggregator: "lewel" }`
 * LEWEL_M; any method built on core's BaseMethod composes the same way (simsiam, simclr).
 */
export const lewelPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Aggregator', lewelRegistration);
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_b', 'byol'));
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_m', 'moco'));
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_simsiam', 'simsiam'));
    registerType(container, 'BenchPreset', lewelBenchPreset('lewel_simclr', 'simclr'));
  },
};

export default lewelPlugin;
