import type { Backbone, Method, Module, StateEntry } from '@selfsup/core';

/** Which part of a trained method leaves selfsup (`selfsup export --what`, `selfsup embed --what`). */
export const EXPORT_PARTS = ['backbone', 'online', 'target'] as const;
export type ExportPart = (typeof EXPORT_PARTS)[number];

export interface SelectedNetwork {
  part: ExportPart;
  /** State entries with names relative to the part: torchvision names for a backbone. */
  entries: StateEntry[];
  /** The backbone whose pooled features the part gives (the target's own for 'target'). */
  backbone: Backbone;
}

const withPrefixRemoved = (entries: StateEntry[], prefix: string) =>
  entries.filter((e) => e.name.startsWith(prefix)).map((e) => ({ ...e, name: e.name.slice(prefix.length) }));

/**
 * backbone: the online network's backbone (what kNN and the probes evaluate); online: the whole
 * online network (backbone.* and the heads); target: the whole target (EMA / key) network.
 */
export function selectNetwork(method: Method, part: string): SelectedNetwork {
  if (!(EXPORT_PARTS as readonly string[]).includes(part))
    throw new Error(`--what ${part}: expected one of ${EXPORT_PARTS.join(', ')}`);
  if (part === 'backbone')
    return { part, entries: method.backbone.stateEntries(), backbone: method.backbone };
  const entries = withPrefixRemoved(method.stateEntries(), `${part}.`);
  const modules = new Map<string, Module>(method.namedModules());
  const backbone = modules.get(`${part}.backbone`) as Backbone | undefined;
  if (entries.length === 0 || backbone === undefined)
    throw new Error(
      `--what ${part}: method '${method.type}' has no ${part} network with a backbone (no '${part}.backbone.*' state)`,
    );
  return { part: part as ExportPart, entries, backbone };
}
