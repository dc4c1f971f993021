/**
 * What the page trains: one of the repository's cluttered recipes (configs/<method>-cluttered.yaml,
 * read at build time), changed by the page's settings and by `key.path=value` overrides with the
 * meaning `selfsup train --set` gives them, then validated by core's config schema. The resolved
 * config goes into every checkpoint the page writes, so `selfsup eval` and `--resume` rebuild
 * exactly this run. Platform-neutral: the Node tests run it too.
 */
import YAML from 'yaml';
import { parseConfig, Sha256, type SelfsupConfig } from '@selfsup/core';

import type { PageMethod } from './methods';

export { PAGE_METHODS, isPageMethod, type PageMethod } from './methods';

/** The raw recipe of each method: configs/<method>-cluttered.yaml as parsed YAML. */
export type Recipes = Record<PageMethod, Record<string, unknown>>;

/** Where the training images come from. */
export type DataSource = { kind: 'cluttered' } | { kind: 'folder'; name: string };

export interface RunSettings {
  method: PageMethod;
  /** 'auto' or a backend name (webgpu, wasm, cpu). */
  backend: string;
  /** Backend threads (wasm); the backend's default when unset. */
  threads?: number;
  /** Stop after this many steps (train.maxSteps). */
  steps?: number;
  /** Epochs (train.epochs); the recipe's when unset. */
  epochs?: number;
  /** Refresh the alignment maps every N steps. */
  mapsEvery: number;
  /** `key.path=value` overrides of the recipe, as `selfsup train --set`. */
  overrides: string[];
  data: DataSource;
}

/**
 * Applies `key.path=value` overrides (value parsed as YAML: numbers, booleans, lists, strings),
 * as the CLI's --set does: a string spec such as `method: byol` becomes `{type: byol, ...}`
 * when a sub-key is set.
 */
export function applyOverrides(
  config: Record<string, unknown>,
  overrides: string[],
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const item of overrides) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new Error(`override '${item}': expected key.path=value`);
    const path = item.slice(0, eq).trim().split('.');
    if (path.some((p) => p === '')) throw new Error(`override '${item}': empty segment in key path`);
    let value: unknown;
    try {
      value = YAML.parse(item.slice(eq + 1));
    } catch {
      value = item.slice(eq + 1);
    }
    let cur: Record<string, unknown> = out;
    for (const [i, key] of path.slice(0, -1).entries()) {
      const next = cur[key];
      if (next === undefined) cur[key] = {};
      else if (typeof next === 'string') cur[key] = { type: next };
      else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new Error(
          `override '${item}': '${path.slice(0, i + 1).join('.')}' is ${JSON.stringify(next)}, not a mapping`,
        );
      }
      cur = cur[key] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = value;
  }
  return out;
}

/** The validated config of a page run. Errors name the setting or override at fault. */
export function pageConfig(recipes: Recipes, settings: RunSettings): SelfsupConfig {
  const recipe = recipes[settings.method];
  if (!recipe) throw new Error(`method '${settings.method}': the page has no recipe for it`);
  const raw = structuredClone(recipe) as Record<string, unknown> & {
    train?: Record<string, unknown>;
    data?: Record<string, unknown>;
  };
  const train = (raw.train ??= {});
  if (settings.steps !== undefined) train.maxSteps = settings.steps;
  if (settings.epochs !== undefined) train.epochs = settings.epochs;
  if (settings.data.kind === 'folder') {
    const data = (raw.data ??= {});
    // What `selfsup eval` reads the same pictures with: --set data.path=<the folder>.
    data.dataset = 'image_folder';
    data.path = settings.data.name;
    data.onBadImage = 'skip';
  }
  const source = `configs/${settings.method}-cluttered.yaml${settings.overrides.length ? ' (with the page overrides)' : ''}`;
  return parseConfig(applyOverrides(raw, settings.overrides), source);
}

/**
 * The run's identity for resuming: the same JSON of the same keys as the CLI's configHash
 * (packages/node/src/cli/session.ts), so a checkpoint of the page resumes under `selfsup train
 * --resume` with the page's config.yaml. test/web/run-config.test.ts holds the two equal.
 */
export function configHash(config: SelfsupConfig): string {
  const { method, backbone, aggregator, optimizer, data } = config;
  const { seed, batchSize, warmupEpochs } = config.train;
  const json = JSON.stringify({
    method,
    backbone,
    aggregator,
    optimizer,
    data,
    seed,
    batchSize,
    warmupEpochs,
  });
  return new Sha256().update(json).digest().slice(0, 16);
}

/** The run folder's config.yaml, as `selfsup train` writes it. */
export function configToYaml(config: SelfsupConfig): string {
  return YAML.stringify(config);
}
