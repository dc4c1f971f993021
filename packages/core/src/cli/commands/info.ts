import { tf } from '../../tf';
import { describeBackends, backendProvidersFrom } from '../../backend/select';
import { createRegistryContainer } from '../../di/pipeline';
import { listTypes } from '../../di/registry';
import { Tokens, type SeamName } from '../../contracts/tokens';
import type { Registration } from '../../contracts';
import { loadPlugins } from '../plugins';
import { SELFSUP_VERSION } from '../version';

export async function infoCommand(opts: { plugin?: string[]; json?: boolean }): Promise<number> {
  const loaded = await loadPlugins(opts.plugin ?? []);
  const registry = createRegistryContainer(loaded.plugins);
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
  for (const s of seams) {
    const list = types[s];
    if (list.length) out.push(`${s.toLowerCase()}: ${list.map((t) => t.type).join(', ')}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
