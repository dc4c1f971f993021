/**
 * bench/run-bundled.mjs: a bench script bundled from the TypeScript sources runs in plain Node
 * with one tfjs engine, gradients registered and the DI container working, gets its arguments
 * and node flags, and passes its exit status on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../cli/helpers';

const DIR = join(REPO, '.tmp', 'test-run-bundled');
const SCRIPT = join(DIR, 'probe.ts');

describe('bench/run-bundled.mjs', () => {
  afterAll(() => rmSync(DIR, { recursive: true, force: true }));

  it('runs a script from the sources in plain node, with gradients, the registry, its arguments and flags', () => {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(
      SCRIPT,
      [
        "import { tf, createRegistryContainer, listTypes } from '@selfsup/core';",
        "import byol from '@selfsup/plugin-byol';",
        // The Node package too, as the soak imports it: its modules put tsyringe's import first.
        "import { createRunTrainer } from '@selfsup/node';",
        'const dx = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));',
        'const out = {',
        '  grad: Array.from(await dx.data()),',
        "  methods: listTypes(createRegistryContainer([byol]), 'Method').map((r) => r.type),",
        '  args: process.argv.slice(2),',
        '  trainer: typeof createRunTrainer,',
        "  gc: typeof (globalThis as { gc?: unknown }).gc === 'function',",
        "  loaders: process.execArgv.filter((a) => a.includes('loader') || a.includes('import')),",
        '};',
        'console.log(JSON.stringify(out));',
        "process.exitCode = process.argv.includes('--fail') ? 3 : 0;",
      ].join('\n'),
    );
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--expose-gc', join(REPO, 'bench/run-bundled.mjs'), SCRIPT, ...args], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
    const ok = run('--steps', '7');
    expect(ok.stderr).not.toMatch(/error|warn/i);
    expect(ok.status).toBe(0);
    const out = JSON.parse(ok.stdout.trim().split('\n').pop()!);
    expect(out.grad).toEqual([2, 4]);
    expect(out.methods).toContain('byol');
    expect(out.args).toEqual(['--steps', '7']);
    expect(out.trainer).toBe('function');
    expect(out.gc).toBe(true);
    expect(out.loaders).toEqual([]);
    expect(run('--fail').status).toBe(3);
  });
});
