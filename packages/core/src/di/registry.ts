import type { DependencyContainer } from 'tsyringe';
import type { Registration } from '../contracts';
import { Tokens, type SeamName } from '../contracts/tokens';
import { KNOWN_PROVIDERS } from './known-plugins';

/** Adds one `type` to a seam. Registering a type twice keeps the last (a plugin may override). */
export function registerType<R extends Registration<unknown>>(
  container: DependencyContainer,
  seam: SeamName,
  registration: R,
): void {
  container.register(Tokens[seam], { useValue: registration });
}

/** Every registration of a seam visible from this container (parents included), last wins per type. */
export function listTypes<R extends Registration<unknown>>(
  container: DependencyContainer,
  seam: SeamName,
): R[] {
  const token = Tokens[seam];
  if (!container.isRegistered(token, true)) return [];
  const byType = new Map<string, R>();
  for (const r of container.resolveAll<R>(token)) byType.set(r.type, r);
  return [...byType.values()];
}

export class UnknownTypeError extends Error {
  constructor(
    readonly seam: SeamName,
    readonly requested: string,
    readonly registered: string[],
    readonly where: string,
  ) {
    const provider = KNOWN_PROVIDERS[seam]?.[requested];
    const hint = provider
      ? `install ${provider} and pass its plugin (plugins: [...])`
      : `register a plugin that provides ${seam.toLowerCase()} '${requested}'`;
    super(
      `${where}: unknown ${seam.toLowerCase()} '${requested}'. Registered: ${registered.length ? registered.join(', ') : '(none)'}; ${hint}.`,
    );
    this.name = 'UnknownTypeError';
  }
}

export function resolveType<R extends Registration<unknown>>(
  container: DependencyContainer,
  seam: SeamName,
  type: string,
  where: string,
): R {
  const all = listTypes<R>(container, seam);
  const found = all.find((r) => r.type === type);
  if (!found) throw new UnknownTypeError(seam, type, all.map((r) => r.type).sort(), where);
  return found;
}
