import type { DependencyContainer } from 'tsyringe';
import type { Plugin } from '@selfsup/core';
import { createRegistryContainer } from '@selfsup/core';
import { backendProvidersFrom, selectBackend, type SelectedBackend } from '@selfsup/core';
import { loadPlugins } from './plugins';

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
  plugins?: string[];
  threads?: number;
  /** Where the line naming the chosen backend goes (stderr by default). */
  log?: (line: string) => void;
}): Promise<Runtime> {
  const loaded = await loadPlugins(opts.plugins ?? []);
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
