/** Injection tokens: one per seam. Each is registered many times, once per `type`. */
export const Tokens = {
  Backbone: Symbol.for('selfsup.Backbone'),
  Head: Symbol.for('selfsup.Head'),
  Aggregator: Symbol.for('selfsup.Aggregator'),
  Loss: Symbol.for('selfsup.Loss'),
  Method: Symbol.for('selfsup.Method'),
  Optimizer: Symbol.for('selfsup.Optimizer'),
  LrSchedule: Symbol.for('selfsup.LrSchedule'),
  Dataset: Symbol.for('selfsup.Dataset'),
  Transform: Symbol.for('selfsup.Transform'),
  ViewPipeline: Symbol.for('selfsup.ViewPipeline'),
  Backend: Symbol.for('selfsup.Backend'),
  /** Named benchmark configs for `selfsup bench --method` (see bench/presets.ts). */
  BenchPreset: Symbol.for('selfsup.BenchPreset'),
  /** Trainer hooks that config can name under `train.hooks`. */
  Hook: Symbol.for('selfsup.Hook'),
} as const;

export type SeamName = keyof typeof Tokens;
