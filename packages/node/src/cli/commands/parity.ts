import { loadParityFixture } from '../../parity/load-fixture';
import { runParityAsync, type ParityCheck } from '@selfsup/core';
import { prepareRuntime } from '../../runtime/runtime';

const fmt = (c: ParityCheck) => `${c.error.toExponential(2)} / ${c.bound.toExponential(2)}`;

export async function parityCommand(
  dir: string,
  opts: { backend?: string; json?: boolean; plugin?: string[]; verbose?: boolean },
): Promise<number> {
  const runtime = await prepareRuntime({ backend: opts.backend, plugins: opts.plugin });
  const fixture = await loadParityFixture(dir);
  const report = await runParityAsync(fixture, runtime.plugins);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return report.ok ? 0 : 1;
  }
  const failed = report.checks.filter((c) => !c.ok);
  const lines = [
    `parity ${report.variant} (${dir}) on ${report.backend}: ${report.ok ? 'PASS' : 'FAIL'}`,
    `  ${report.checks.length} checks, ${failed.length} failed; worst: ${report.worst.name} ${fmt(report.worst)}`,
  ];
  const losses = report.checks.filter((c) => c.kind === 'loss');
  for (const c of losses)
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(24)} rel err ${c.error.toExponential(2)}`);
  for (const c of opts.verbose
    ? report.checks.filter((c) => c.kind === 'tensor')
    : failed.filter((c) => c.kind !== 'loss')) {
    lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(48)} ${fmt(c)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return report.ok ? 0 : 1;
}
