import type { DependencyContainer } from 'tsyringe';
import type { BackendAvailability, BackendProvider, BackendRegistration } from '../contracts';
import { Tokens } from '../contracts/tokens';

/** Where the backend request came from; the first one set wins. */
export type BackendSource = 'flag' | 'env' | 'config' | 'default';

export const BACKEND_ENV_VAR = 'SELFSUP_BACKEND';

const SOURCE_LABEL: Record<BackendSource, string> = {
  flag: '--backend',
  env: BACKEND_ENV_VAR,
  config: 'config key "backend"',
  default: 'default',
};

/**
 * Packages that provide the well-known backends, for the hint when one is asked for by name
 * but its plugin is not loaded. Only strings: core never imports a backend package.
 */
const KNOWN_BACKEND_PACKAGES: Record<string, string> = {
  wasm: '@selfsup/backend-wasm',
  node: '@selfsup/backend-node',
  'node-gpu': '@selfsup/backend-node',
  webgpu: '@selfsup/backend-webgpu',
};

export interface SelectBackendOptions {
  /** Value of the --backend command-line flag. */
  flag?: string;
  /** Environment to read SELFSUP_BACKEND from; process.env when omitted. */
  env?: Record<string, string | undefined>;
  /** Value of the config file's `backend` key. */
  configBackend?: string;
  providers: BackendProvider[];
  threads?: number;
  /** Receives the one line saying which backend was chosen and why; stderr when omitted. */
  log?: (line: string) => void;
}

export interface SelectedBackend {
  name: string;
  /** Why this backend, e.g. "from --backend" or "auto: node-gpu unavailable — ...". */
  reason: string;
  source: BackendSource;
  provider: BackendProvider;
}

export interface BackendDescription {
  name: string;
  description: string;
  available: boolean;
  version?: string;
  reason?: string;
  /** Why `auto` passes over it although it is available (e.g. a software GPU). */
  notForAuto?: string;
  /** The device it runs on, when the backend says (e.g. the GPU adapter). */
  device?: string;
  /** 1-based position in the order `auto` tries backends. */
  autoRank: number;
  /** True for the backend `auto` would pick now (the first available one; not activated). */
  autoPick: boolean;
}

/**
 * Chooses and activates the tfjs backend: --backend, else SELFSUP_BACKEND, else config
 * `backend`, else `auto`. The value "auto" at any level means auto: the first backend in
 * ascending autoPriority whose probe says available and whose activation succeeds.
 * An explicit request never falls back: an unknown or unavailable backend is an error, so a
 * run never silently ends up on a slower backend than the user asked for.
 */
export async function selectBackend(options: SelectBackendOptions): Promise<SelectedBackend> {
  const providers = checkUnique(options.providers);
  const log = options.log ?? ((line: string) => console.error(line));
  const { value, source } = requestedBackend(options);
  const activateOptions = options.threads === undefined ? {} : { threads: options.threads };

  if (value !== 'auto') {
    const where = `from ${SOURCE_LABEL[source]}`;
    const provider = providers.find((p) => p.name === value);
    if (!provider) {
      const known = KNOWN_BACKEND_PACKAGES[value];
      const hint = known ? ` "${value}" is provided by ${known}: install it and load it as a plugin.` : '';
      throw new Error(
        `Unknown backend "${value}" (${where}). Registered backends: ${registeredNames(providers)}, or "auto".${hint}`,
      );
    }
    const availability = await safeProbe(provider);
    if (!availability.available) {
      throw new Error(
        `Backend "${value}" (${where}) is not available: ${availability.reason ?? 'its probe gave no reason'}`,
      );
    }
    try {
      await provider.activate(activateOptions);
    } catch (err) {
      throw new Error(`Backend "${value}" (${where}) is available but failed to activate: ${message(err)}`, {
        cause: err,
      });
    }
    log(`backend: ${value} (${where})`);
    return { name: value, reason: where, source, provider };
  }

  const skipped: string[] = [];
  for (const provider of autoOrder(providers)) {
    const availability = await safeProbe(provider);
    if (!availability.available) {
      skipped.push(`${provider.name} unavailable — ${availability.reason ?? 'no reason given'}`);
      continue;
    }
    if (availability.notForAuto !== undefined) {
      skipped.push(`${provider.name} not for auto — ${availability.notForAuto}`);
      continue;
    }
    try {
      await provider.activate(activateOptions);
    } catch (err) {
      skipped.push(`${provider.name} failed to activate — ${message(err)}`);
      continue;
    }
    const label = source === 'default' ? 'auto' : `auto, from ${SOURCE_LABEL[source]}`;
    const reason = `${label}: ${skipped.length > 0 ? skipped.join('; ') : 'first choice available'}`;
    log(`backend: ${provider.name} (${reason})`);
    return { name: provider.name, reason, source, provider };
  }
  if (providers.length === 0) {
    throw new Error(
      'No backend is registered: apply cpuBackendPlugin (from @selfsup/core) to the container.',
    );
  }
  throw new Error(`No backend could be activated by auto: ${skipped.join('; ')}`);
}

/** Every backend with its availability and rank in `auto`, for `selfsup info`. Activates nothing. */
export async function describeBackends(providers: BackendProvider[]): Promise<BackendDescription[]> {
  const out: BackendDescription[] = [];
  let picked = false;
  // Sequential, in auto order: probing may load a native module, and two of those at once
  // (tfjs-node and tfjs-node-gpu) would race to register the same tfjs backend.
  for (const [i, provider] of autoOrder(checkUnique(providers)).entries()) {
    const a = await safeProbe(provider);
    const autoPick: boolean = a.available && a.notForAuto === undefined && !picked;
    picked ||= autoPick;
    out.push({
      name: provider.name,
      description: provider.description,
      available: a.available,
      ...(a.version !== undefined && { version: a.version }),
      ...(a.reason !== undefined && { reason: a.reason }),
      ...(a.notForAuto !== undefined && { notForAuto: a.notForAuto }),
      ...(a.device !== undefined && { device: a.device }),
      autoRank: i + 1,
      autoPick,
    });
  }
  return out;
}

/** The providers registered under Tokens.Backend in a container (none registered: empty). */
export function backendProvidersFrom(container: DependencyContainer): BackendProvider[] {
  const registrations = container.isRegistered(Tokens.Backend, true)
    ? container.resolveAll<BackendRegistration>(Tokens.Backend)
    : [];
  const seen = new Map<string, BackendRegistration>();
  return registrations.map((reg) => {
    const previous = seen.get(reg.type);
    if (previous) {
      throw new Error(
        `Backend "${reg.type}" is registered twice: by ${previous.plugin} and by ${reg.plugin}. Load only one of them.`,
      );
    }
    seen.set(reg.type, reg);
    const provider = reg.create();
    if (provider.name !== reg.type) {
      throw new Error(
        `Backend registration "${reg.type}" from ${reg.plugin} created a provider named "${provider.name}"; ` +
          'the two must match.',
      );
    }
    return provider;
  });
}

function requestedBackend(options: SelectBackendOptions): { value: string; source: BackendSource } {
  // Neutral code: `process` exists in Node only.
  const env =
    options.env ??
    (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ??
    {};
  const levels: Array<[BackendSource, string | undefined]> = [
    ['flag', options.flag],
    ['env', env[BACKEND_ENV_VAR]],
    ['config', options.configBackend],
  ];
  for (const [source, raw] of levels) {
    // An empty value (e.g. `SELFSUP_BACKEND=`) counts as unset, as shells make that easy to do by accident.
    const value = raw?.trim().toLowerCase();
    if (value) return { value, source };
  }
  return { value: 'auto', source: 'default' };
}

/** Ascending autoPriority; ties by name so the order never depends on registration order. */
function autoOrder(providers: BackendProvider[]): BackendProvider[] {
  return [...providers].sort((a, b) => a.autoPriority - b.autoPriority || a.name.localeCompare(b.name));
}

function checkUnique(providers: BackendProvider[]): BackendProvider[] {
  const names = new Set<string>();
  for (const p of providers) {
    if (names.has(p.name))
      throw new Error(`Backend "${p.name}" is given twice; each backend name must be unique.`);
    names.add(p.name);
  }
  return providers;
}

/** A probe that throws is a backend that is unavailable, with the error as the reason. */
async function safeProbe(provider: BackendProvider): Promise<BackendAvailability> {
  try {
    return await provider.probe();
  } catch (err) {
    return { available: false, reason: `probe failed: ${message(err)}` };
  }
}

function registeredNames(providers: BackendProvider[]): string {
  if (providers.length === 0) return '(none)';
  return providers
    .map((p) => p.name)
    .sort()
    .join(', ');
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
