import { createRequire } from 'node:module';
import type { Plugin } from '../contracts';
import { OFFICIAL_PLUGIN_PACKAGES } from '../di/known-plugins';

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
  const plugins: Plugin[] = [];
  const missing: string[] = [];
  const load = async (spec: string): Promise<Record<string, unknown>> => {
    // Resolve from the user's folder first (their plugins), then from selfsup's own install.
    let target = spec;
    try {
      target = require.resolve(spec);
    } catch {
      /* fall back to resolving relative to this module */
    }
    return (await import(target.startsWith('/') ? `file://${target}` : target)) as Record<string, unknown>;
  };
  for (const pkg of OFFICIAL_PLUGIN_PACKAGES) {
    try {
      plugins.push(...pluginsOf(await load(pkg)));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') missing.push(pkg);
      else throw new Error(`plugin ${pkg} failed to load: ${(err as Error).message}`);
    }
  }
  for (const spec of extra) {
    let mod: Record<string, unknown>;
    try {
      mod = await load(spec);
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
