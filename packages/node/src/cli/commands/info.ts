import { tf } from '@selfsup/core';
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
  const backends = await describeBackends(backendProvidersFrom(registry));
  const seams = Object.keys(Tokens) as SeamName[];
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
