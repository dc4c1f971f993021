import type { DependencyContainer } from 'tsyringe';
import type { Plugin } from '@selfsup/core';
import { createRegistryContainer } from '@selfsup/core';
import { backendProvidersFrom, selectBackend, type SelectedBackend } from '@selfsup/core';
import { loadPlugins, type PluginSpec } from './plugins';

export interface Runtime {
  plugins: Plugin[];
  missingPlugins: string[];
  registry: DependencyContainer;
  backend: SelectedBackend;
}

/** Loads plugins, then picks and activates the backend once (flag > env > config > auto). */
export async function prepareRuntime(opts: {
  backend?: string;
  configBackend?: string;
  /** User plugins (config `plugins:`, --plugin); the installed official ones load anyway. */
  plugins?: Array<string | PluginSpec>;
  /** Where user plugins are looked up (default: the working directory). */
  searchDirs?: string[];
  threads?: number;
  /** Where the line naming the chosen backend goes (stderr by default). */
  log?: (line: string) => void;
}): Promise<Runtime> {
  const loaded = await loadPlugins(opts.plugins ?? [], opts.searchDirs);
  const plugins = loaded.plugins;
  const registry = createRegistryContainer(plugins);
  const backend = await selectBackend({
    flag: opts.backend,
    env: process.env,
    configBackend: opts.configBackend,
    providers: backendProvidersFrom(registry),
    threads: opts.threads,
    log: opts.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
  return { plugins, missingPlugins: loaded.missing, registry, backend };
}
