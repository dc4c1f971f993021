import { tf, describeOptions } from '@selfsup/core';
import { describeBackends, backendProvidersFrom } from '@selfsup/core';
import { listTypes } from '@selfsup/core';
import { Tokens, type SeamName } from '@selfsup/core';
import type { Registration } from '@selfsup/core';
import { prepareRuntime } from '../../runtime/runtime';
import { SELFSUP_VERSION } from '../version';

export async function infoCommand(opts: {
  plugin?: string[];
  backend?: string;
  json?: boolean;
  /** A registry kind (seam, any case): list its types, or with `type` describe that one. */
  kind?: string;
  type?: string;
}): Promise<number> {
  // The same backend choice as every command (flag > SELFSUP_BACKEND > auto), made and reported.
  let chosen = '';
  const runtime = await prepareRuntime({
    backend: opts.backend,
    plugins: opts.plugin,
    log: (line) => (chosen = line),
  });
  const loaded = { plugins: runtime.plugins, missing: runtime.missingPlugins };
  const registry = runtime.registry;
  const seams = Object.keys(Tokens) as SeamName[];
  // One kind's types need the plugins only, not the probing of every backend below.
  if (opts.kind) return describeKind(registry, seams, opts.kind, opts.type, !!opts.json);
  const backends = await describeBackends(backendProvidersFrom(registry));
  const types = Object.fromEntries(
    seams.map((s) => [
      s,
      listTypes<Registration<unknown>>(registry, s).map((r) => ({ type: r.type, plugin: r.plugin })),
    ]),
  );
  const info = {
    selfsup: SELFSUP_VERSION,
    tfjs: tf.version_core,
    node: process.version,
    plugins: loaded.plugins.map((p) => p.name),
    missingPlugins: loaded.missing,
    backends,
    autoPick: backends.find((b) => b.autoPick)?.name ?? null,
    backend: { name: runtime.backend.name, chosen: chosen.replace(/^backend: /, '') },
    types,
  };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return 0;
  }
  const out: string[] = [];
  out.push(`selfsup ${info.selfsup}  (tfjs-core ${info.tfjs}, node ${info.node})`);
  out.push(`plugins: ${info.plugins.join(', ') || '(none)'}`);
  if (info.missingPlugins.length) out.push(`not installed: ${info.missingPlugins.join(', ')}`);
  out.push('backends (auto order):');
  for (const b of backends) {
    const state = b.available
      ? `available${b.version ? ` ${b.version}` : ''}`
      : `unavailable: ${b.reason ?? ''}`;
    out.push(`  ${b.autoPick ? '*' : ' '} ${b.name.padEnd(9)} ${state}`);
    if (b.device) out.push(`              device: ${b.device}`);
    if (b.notForAuto) out.push(`              not picked by auto: ${b.notForAuto}`);
  }
  out.push(`auto would pick: ${info.autoPick ?? '(none)'}`);
  out.push(chosen);
  for (const s of seams) {
    const list = types[s];
    if (list.length) out.push(`${s.toLowerCase()}: ${list.map((t) => t.type).join(', ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

/** `selfsup info KIND [TYPE]`: the types of one registry kind, or one type with its options. */
function describeKind(
  registry: Parameters<typeof listTypes>[0],
  seams: SeamName[],
  kind: string,
  type: string | undefined,
  json: boolean,
): number {
  const seam = seams.find((s) => s.toLowerCase() === kind.toLowerCase());
  if (!seam) {
    throw new Error(`info: unknown kind '${kind}'; known: ${seams.map((s) => s.toLowerCase()).join(', ')}`);
  }
  const regs = listTypes<Registration<unknown>>(registry, seam);
  const name = seam.toLowerCase();
  if (type === undefined) {
    const rows = regs.map((r) => ({ type: r.type, plugin: r.plugin, description: r.description ?? '' }));
    if (json) process.stdout.write(`${JSON.stringify({ kind: name, types: rows })}\n`);
    else {
      const width = Math.max(0, ...rows.map((r) => r.type.length));
      const lines = rows.map(
        (r) => `  ${r.type.padEnd(width)}  ${r.plugin}${r.description ? `: ${r.description}` : ''}`,
      );
      process.stdout.write(`${name} (${rows.length}):\n${lines.join('\n')}\n`);
    }
    return 0;
  }
  const reg = regs.find((r) => r.type === type);
  if (!reg) {
    throw new Error(
      `info: no ${name} '${type}'; registered: ${regs.map((r) => r.type).join(', ') || '(none)'}`,
    );
  }
  const options = describeOptions(reg.optionsSchema);
  if (json) {
    const out = {
      kind: name,
      type: reg.type,
      plugin: reg.plugin,
      description: reg.description ?? '',
      options,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return 0;
  }
  const out = [`${name} '${reg.type}' (${reg.plugin})${reg.description ? `: ${reg.description}` : ''}`];
  if (!options.length) out.push('options: none');
  else {
    out.push('options:');
    const width = Math.max(...options.map((o) => o.key.length));
    for (const o of options) {
      const when = o.required
        ? 'required'
        : 'default' in o
          ? `default ${JSON.stringify(o.default)}`
          : 'optional';
      out.push(`  ${o.key.padEnd(width)}  ${o.type}  (${when})`);
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
