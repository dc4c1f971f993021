import type { DependencyContainer } from 'tsyringe';
import { parseWith, splitTypeSpec, type TypeSpec } from '../../config/schema';
import { resolveType } from '../../di/registry';
import type { HookRegistration, TrainerHook } from '../hook';

/** The hooks config names under `train.hooks` (registered Hook types, options checked by their schemas). */
export function hooksFromConfig(
  container: DependencyContainer,
  specs: TypeSpec[],
  source: string,
): TrainerHook[] {
  return specs.map((spec, i) => {
    const { type, options } = splitTypeSpec(spec);
    const key = `train.hooks[${i}]`;
    const reg = resolveType<HookRegistration>(container, 'Hook', type, `${source}: ${key}`);
    const parsed = reg.optionsSchema
      ? (parseWith(reg.optionsSchema, options, `${source} (${key} '${type}')`, key) as Record<
          string,
          unknown
        >)
      : options;
    return reg.create(parsed);
  });
}
