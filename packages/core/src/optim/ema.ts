import { tf } from '../tf';
import type { StateEntry } from '../nn/module';

export interface EmaPrefixes {
  /** Stripped from every target entry name before matching, e.g. 'target.' (must be present). */
  target?: string;
  /** Stripped from every online entry name before matching, e.g. 'online.'. */
  online?: string;
}

function relativeNames(entries: StateEntry[], prefix: string, side: string): Map<string, StateEntry> {
  const out = new Map<string, StateEntry>();
  for (const e of entries) {
    if (e.kind !== 'parameter') continue;
    if (!e.name.startsWith(prefix)) {
      throw new Error(`emaUpdate: ${side} parameter '${e.name}' does not start with the prefix '${prefix}'`);
    }
    const rel = e.name.slice(prefix.length);
    if (out.has(rel)) throw new Error(`emaUpdate: ${side} parameter '${rel}' appears twice`);
    out.set(rel, e);
  }
  return out;
}

/**
 * Target EMA after an optimizer step: theta_t <- m * theta_t + (1 - m) * theta_o, for entries
 * of kind 'parameter' only. Buffers (BN running stats) are untouched: the target's come from its
 * own forward passes. Parameters are matched by name (after stripping the given prefixes); a
 * name on one side only, or a shape mismatch, throws before anything is updated.
 */
export function emaUpdate(
  target: StateEntry[],
  online: StateEntry[],
  momentum: number,
  prefixes: EmaPrefixes = {},
): void {
  if (!Number.isFinite(momentum) || momentum < 0 || momentum > 1) {
    throw new Error(`emaUpdate: momentum must be in [0, 1], got ${momentum}`);
  }
  const t = relativeNames(target, prefixes.target ?? '', 'target');
  const o = relativeNames(online, prefixes.online ?? '', 'online');
  const onlyTarget = [...t.keys()].filter((n) => !o.has(n));
  const onlyOnline = [...o.keys()].filter((n) => !t.has(n));
  if (onlyTarget.length > 0 || onlyOnline.length > 0) {
    const list = (names: string[]) =>
      names.length ? names.slice(0, 5).join(', ') + (names.length > 5 ? ', ...' : '') : '-';
    throw new Error(
      `emaUpdate: target and online parameters differ: only in target: ${list(onlyTarget)}; ` +
        `only in online: ${list(onlyOnline)}`,
    );
  }
  for (const [name, te] of t) {
    const oe = o.get(name)!;
    const ts = te.variable.shape;
    const os = oe.variable.shape;
    if (ts.length !== os.length || ts.some((n, i) => n !== os[i])) {
      throw new Error(`emaUpdate: parameter '${name}' has target shape [${ts}] but online shape [${os}]`);
    }
  }
  tf.tidy(() => {
    for (const [name, te] of t) {
      const theta = te.variable;
      theta.assign(tf.add(tf.mul(theta, momentum), tf.mul(o.get(name)!.variable, 1 - momentum)));
    }
  });
}
