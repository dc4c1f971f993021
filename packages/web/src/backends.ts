/**
 * The page's backend choice, through the registry: every backend a plugin registered is
 * offered; the well-known ones the build lacks are listed as not installed. A backend package
 * plugs in by being bundled (the build adds @selfsup/backend-webgpu when it exists).
 */
import {
  backendProvidersFrom,
  selectBackend,
  type BackendProvider,
  type createRegistryContainer,
  type SelectedBackend,
} from '@selfsup/core';
import type { BackendStatus } from './protocol';

type Registry = ReturnType<typeof createRegistryContainer>;

/** Backends the page offers by name, in the order of its select, with the package of each. */
export const PAGE_BACKENDS: Record<string, string> = {
  webgpu: '@selfsup/backend-webgpu',
  wasm: '@selfsup/backend-wasm',
  cpu: '@selfsup/core',
};

export function notInstalled(name: string): string {
  const pkg = PAGE_BACKENDS[name];
  return pkg
    ? `not installed: ${pkg} is not part of this build (the page bundles it when the package is in the repository)`
    : `not installed: no plugin of this build registers a backend named '${name}'`;
}

/** Each offered or registered backend: installed, and if so whether it can run here. */
export async function backendTable(registry: Registry): Promise<BackendStatus[]> {
  const providers = backendProvidersFrom(registry);
  const names = [...new Set([...Object.keys(PAGE_BACKENDS), ...providers.map((p) => p.name)])];
  const out: BackendStatus[] = [];
  for (const name of names) {
    const p = providers.find((x) => x.name === name);
    if (!p) {
      out.push({ name, installed: false, available: false, reason: notInstalled(name) });
      continue;
    }
    try {
      const a = await p.probe();
      out.push({
        name,
        installed: true,
        available: a.available,
        ...(a.reason !== undefined && { reason: a.reason }),
        ...(a.version !== undefined && { version: a.version }),
      });
    } catch (err) {
      out.push({
        name,
        installed: true,
        available: false,
        reason: `probe failed: ${(err as Error).message}`,
      });
    }
  }
  return out;
}

/** Activates `choice` ('auto' or a name); an uninstalled well-known backend is named as such. */
export async function activateBackend(
  registry: Registry,
  choice: string,
  threads: number | undefined,
  log: (line: string) => void,
): Promise<SelectedBackend> {
  const providers: BackendProvider[] = backendProvidersFrom(registry);
  const want = choice.trim().toLowerCase() || 'auto';
  if (want !== 'auto' && !providers.some((p) => p.name === want)) {
    throw new Error(`backend '${want}' is ${notInstalled(want)}`);
  }
  return selectBackend({ flag: want, env: {}, providers, threads, log });
}
