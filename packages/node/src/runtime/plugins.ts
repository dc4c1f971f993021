import { pathToFileURL } from 'node:url';
import { isPathSpec, resolvePlugin } from './plugin-resolve';
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
  '@selfsup/backend-webgpu',
];

export interface LoadedPlugins {
  plugins: Plugin[];
  /** Official packages that are not installed (skipped). */
  missing: string[];
}

/** A user plugin and where it was named, for error messages ("config plugins[0]", "--plugin"). */
export interface PluginSpec {
  spec: string;
  origin: string;
}

// A resolved path becomes a file URL: `file://${path}` breaks on spaces, '#', '%' and drive letters.
const importPath = (path: string) => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>;

/**
 * Loads one plugin module. Official plugins come from selfsup's own install first (the version
 * installed with this core, and under vitest the source aliases), user plugins from the user's
 * folders first; each falls back to the other place. Both go through the same resolver.
 */
async function loadModule(spec: string, searchDirs: string[], ownInstallFirst: boolean) {
  const own = () => import(spec) as Promise<Record<string, unknown>>;
  const user = async () => importPath(resolvePlugin(spec, searchDirs).path);
  if (isPathSpec(spec)) return user();
  if (ownInstallFirst) {
    try {
      return await own();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return user();
    }
  }
  try {
    return await user();
  } catch (err) {
    try {
      return await own();
    } catch {
      throw err;
    }
  }
}

/**
 * Loads the official plugins that are installed (missing ones are skipped and listed) and the
 * user's plugins (config `plugins:` and --plugin), which must load. User plugins resolve from
 * `searchDirs` (the working directory and the config's folder), as files or packages (ESM-only
 * and CommonJS alike).
 */
export async function loadPlugins(
  extra: Array<string | PluginSpec> = [],
  searchDirs: string[] = [process.cwd()],
): Promise<LoadedPlugins> {
  // This package's own registrations (file datasets) come first, like a plugin of their own.
  const plugins: Plugin[] = [fileDatasetsPlugin];
  const missing: string[] = [];
  for (const pkg of OFFICIAL_PLUGIN_PACKAGES) {
    try {
      plugins.push(...pluginsOf(await loadModule(pkg, searchDirs, true)));
    } catch (err) {
      if (isNotFound(err) || /is not installed/.test((err as Error).message)) missing.push(pkg);
      else throw new Error(`plugin ${pkg} failed to load: ${(err as Error).message}`);
    }
  }
  const seen = new Set<string>();
  for (const item of extra) {
    const { spec, origin } = typeof item === 'string' ? { spec: item, origin: '--plugin' } : item;
    if (seen.has(spec)) continue;
    seen.add(spec);
    let mod: Record<string, unknown>;
    try {
      mod = await loadModule(spec, searchDirs, false);
    } catch (err) {
      throw new Error(`${origin} '${spec}': cannot load: ${(err as Error).message}`);
    }
    const found = pluginsOf(mod);
    if (found.length === 0)
      throw new Error(
        `${origin} '${spec}': exports no plugin (expected a default or named export { name, register(container) })`,
      );
    plugins.push(...found.filter((p) => !plugins.some((q) => q.name === p.name)));
  }
  return { plugins, missing };
}

const isNotFound = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
};
