import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import YAML from 'yaml';
import { ConfigError } from '@selfsup/core';

/** Reads a YAML or JSON config; errors name the file and the line where parsing failed. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${path}: cannot read config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError(
      `${path}: not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${path}: expected a mapping of config keys at the top level`);
  }
  return value as Record<string, unknown>;
}

/**
 * Applies Hydra-style overrides `key.path=value` (value parsed as YAML: numbers, booleans,
 * lists, strings). A string spec such as `method: byol` becomes `{type: byol, ...}` when a
 * sub-key is set.
 */
export function applyOverrides(
  config: Record<string, unknown>,
  overrides: string[],
): Record<string, unknown> {
  const out = structuredClone(config);
  for (const item of overrides) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--set ${item}: expected key.path=value`);
    const path = item.slice(0, eq).trim().split('.');
    if (path.some((p) => p === '')) throw new ConfigError(`--set ${item}: empty segment in key path`);
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
        throw new ConfigError(
          `--set ${item}: '${path.slice(0, i + 1).join('.')}' is ${JSON.stringify(next)}, not a mapping`,
        );
      }
      cur = cur[key] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = value;
  }
  return out;
}
