import type { DependencyContainer } from 'tsyringe';
import type { LrSchedule, LrScheduleRegistration } from '../contracts';
import { parseWith, schemaKeys, splitTypeSpec, type TypeSpec } from '../config/schema';
import { resolveType } from '../di/registry';

/**
 * The learning-rate schedule `train.lrSchedule` names (a registered LrSchedule type). Keys its
 * schema has and the config leaves out come from the run: `baseLr` (the optimizer's lr) and
 * `warmupSteps` (train.warmupEpochs x steps per epoch).
 */
export function lrScheduleFromConfig(
  container: DependencyContainer,
  spec: TypeSpec,
  run: { baseLr: number; warmupSteps: number },
  source: string,
): LrSchedule {
  const { type, options } = splitTypeSpec(spec);
  const key = 'train.lrSchedule';
  const reg = resolveType<LrScheduleRegistration>(container, 'LrSchedule', type, `${source}: ${key}`);
  const keys = schemaKeys(reg.optionsSchema);
  const fromRun = Object.fromEntries(Object.entries(run).filter(([k]) => keys.has(k) && !(k in options)));
  const merged = { ...fromRun, ...options };
  const parsed = reg.optionsSchema
    ? parseWith(reg.optionsSchema, merged, `${source} (${key} '${type}')`, key)
    : merged;
  return reg.create(parsed as Record<string, unknown>);
}
