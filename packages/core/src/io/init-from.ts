import type { Method } from '../contracts';
import type { StateEntry } from '../nn/module';
import type { TensorData } from './safetensors';
import { CHECKPOINT_OPTIONAL_BUFFERS, importStateDict } from './state-dict';

/**
 * Starting a method's online network from saved weights (`selfsup train --init-from`): a
 * torchvision-named backbone (torchvision, `selfsup export --format torchvision`) or a selfsup
 * checkpoint's online network. Loads strictly, so every missing, unexpected or mis-shaped name is
 * reported as importStateDict reports it, then starts the target network as a copy of the online
 * one, as BYOL and MoCo initialise it.
 */

export interface InitFromOptions {
  /** Only keys under this prefix are read, with the prefix removed (e.g. 'model.online', 'encoder'). */
  prefix?: string;
  /** Names the file in errors. */
  source: string;
}

export interface InitFromResult {
  /** What was loaded: the backbone alone, or the whole online network (backbone and heads). */
  into: 'backbone' | 'online';
  /** Tensors read from the file. */
  loaded: number;
  /** Entries of the method absent from the file and kept (num_batches_tracked of older files). */
  kept: string[];
  /** Target-network entries set from their online counterparts (0 for a method without one). */
  targetCopied: number;
}

const ONLINE = 'online.';
const TARGET = 'target.';
const normPrefix = (p: string | undefined) => (p ?? '').replace(/\.+$/, '');

/** The first dotted part of each key, for "what is in this file" messages. */
const topLevelNames = (keys: Iterable<string>) => [...new Set([...keys].map((k) => k.split('.')[0]))];

/**
 * Keys of the file under `prefix` say what they hold: names starting `backbone.` are a whole
 * online network (`backbone.*` plus the heads, as in a selfsup checkpoint under `model.online`);
 * anything else is a backbone (torchvision names: conv1.weight, layer1.0.bn1.running_mean, ...).
 */
export function initFromStateDict(
  method: Method,
  tensors: Map<string, TensorData>,
  options: InitFromOptions,
): InitFromResult {
  const prefix = normPrefix(options.prefix);
  const inScope = [...tensors.keys()].filter((k) => prefix === '' || k.startsWith(`${prefix}.`));
  if (inScope.length === 0) {
    const present = topLevelNames(tensors.keys());
    throw new Error(
      `${options.source}: no tensor under the prefix '${prefix}' ` +
        `(the file's names start with: ${present.slice(0, 12).join(', ') || 'nothing, it is empty'})`,
    );
  }
  const relative = (k: string) => (prefix === '' ? k : k.slice(prefix.length + 1));
  const wholeOnline = inScope.some((k) => relative(k).startsWith('backbone.'));
  const all = method.stateEntries();
  const online: StateEntry[] = all
    .filter((e) => e.name.startsWith(ONLINE))
    .map((e) => ({ ...e, name: e.name.slice(ONLINE.length) }));
  if (wholeOnline && online.length === 0) {
    throw new Error(
      `${options.source}: holds a whole network (backbone.* names) but method '${method.type}' has no ` +
        `online network; give the prefix of its backbone, e.g. '${options.source}:${prefix ? `${prefix}.` : ''}backbone'`,
    );
  }
  const entries = wholeOnline ? online : method.backbone.stateEntries();
  const { missing } = importStateDict(entries, tensors, {
    prefix,
    source: options.source,
    optionalBuffers: CHECKPOINT_OPTIONAL_BUFFERS,
  });
  const targetCopied = syncTargetFromOnline(all);
  return {
    into: wholeOnline ? 'online' : 'backbone',
    loaded: entries.length - missing.length,
    kept: missing,
    targetCopied,
  };
}

/** target.X <- online.X for every name both have (the target starts as a copy of the online network). */
function syncTargetFromOnline(all: StateEntry[]): number {
  const byName = new Map(all.map((e) => [e.name, e]));
  let copied = 0;
  for (const t of all) {
    if (!t.name.startsWith(TARGET)) continue;
    const o = byName.get(ONLINE + t.name.slice(TARGET.length));
    const same =
      o &&
      o.variable.shape.length === t.variable.shape.length &&
      o.variable.shape.every((d, i) => d === t.variable.shape[i]);
    if (o && same) {
      t.variable.assign(o.variable);
      copied++;
    }
  }
  return copied;
}
