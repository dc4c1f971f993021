import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from '@selfsup/core';
import { fileDatasetsPlugin } from '../data/registrations';

const isPlugin = (v: unknown): v is Plugin =>
  !!v &&
  typeof v === 'object' &&
  typeof (v as Plugin).name === 'string' &&
  typeof (v as Plugin).register === 'function';

/** The plugins a module exports: its default export, or every named export that is a plugin. */
function pluginsOf(mod: Record<string, unknown>): Plugin[] {
  if (isPlugin(mod.default)) return [mod.default];
  return Object.values(mod).filter(isPlugin);
}

/** Packages the `selfsup` CLI loads by name at start (missing ones are skipped). */
export const OFFICIAL_PLUGIN_PACKAGES = [
  '@selfsup/plugin-byol',
  '@selfsup/plugin-moco',
  '@selfsup/plugin-lewel',
  '@selfsup/plugin-simsiam',
  '@selfsup/plugin-simclr',
  '@selfsup/backend-wasm',
  '@selfsup/backend-node',
];

export interface LoadedPlugins {
  plugins: Plugin[];
  missing: string[];
}

/**
 * Loads the official plugins that are installed (missing ones are skipped and listed) and any
 * extra packages or files named by the user, which must load.
 */
export async function loadPlugins(extra: string[] = [], from = process.cwd()): Promise<LoadedPlugins> {
  const require = createRequire(`${from}/`);
  // This package's own registrations (file datasets) come first, like a plugin of their own.
  const plugins: Plugin[] = [fileDatasetsPlugin];
  const missing: string[] = [];
  // A resolved path becomes a file URL: `file://${path}` breaks on spaces, '#', '%' and drive letters.
  const importTarget = (target: string) =>
    import(isAbsolute(target) ? pathToFileURL(target).href : target) as Promise<Record<string, unknown>>;
  // User plugins resolve from the user's folder first, then from selfsup's own install.
  const fromUser = async (spec: string): Promise<Record<string, unknown>> => {
    let target = spec;
    try {
      target = require.resolve(spec);
    } catch {
      /* fall back to resolving relative to this module */
    }
    return importTarget(target);
  };
  // Official plugins come from selfsup's own install first: their ESM build, the version installed
  // with this core (require.resolve would pick the CommonJS build and a second copy of core), and
  // under vitest the source aliases. The user's folder is the fallback (selfsup installed globally).
  const loadOfficial = async (pkg: string): Promise<Record<string, unknown>> => {
    try {
      return await importTarget(pkg);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return fromUser(pkg);
    }
  };
  for (const pkg of OFFICIAL_PLUGIN_PACKAGES) {
    try {
      plugins.push(...pluginsOf(await loadOfficial(pkg)));
    } catch (err) {
      if (isNotFound(err)) missing.push(pkg);
      else throw new Error(`plugin ${pkg} failed to load: ${(err as Error).message}`);
    }
  }
  for (const spec of extra) {
    let mod: Record<string, unknown>;
    try {
      mod = await fromUser(spec);
    } catch (err) {
      throw new Error(`--plugin ${spec}: cannot load (${(err as Error).message})`);
    }
    const found = pluginsOf(mod);
    if (found.length === 0)
      throw new Error(`--plugin ${spec}: exports no plugin ({ name, register(container) })`);
    plugins.push(...found);
  }
  return { plugins, missing };
}

const isNotFound = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
};
