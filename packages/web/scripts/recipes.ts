/** The page's recipes: the repository's configs/<method>-cluttered.yaml, read when the page is built. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
// Types only: importing the page's code would load @selfsup/core's sources, which plain Node cannot run.
import type { PageMethod } from '../src/methods';
import type { Recipes } from '../src/run-config';

/** The page's methods (PAGE_METHODS of src/run-config.ts; the type keeps the two lists equal). */
const METHODS = ['lewel_b', 'byol', 'moco', 'lewel_m'] as const satisfies readonly PageMethod[];
type AllListed = Exclude<PageMethod, (typeof METHODS)[number]> extends never ? true : never;
const allListed: AllListed = true;
void allListed;

export const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));

export function loadRecipes(repoDir = REPO_DIR): Recipes {
  const out: Partial<Recipes> = {};
  for (const method of METHODS) {
    const file = join(repoDir, 'configs', `${method}-cluttered.yaml`);
    const value: unknown = YAML.parse(readFileSync(file, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`${file}: expected a mapping of config keys at the top level`);
    }
    out[method] = value as Record<string, unknown>;
  }
  return out as Recipes;
}
