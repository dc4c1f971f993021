/**
 * `selfsup parity` over the PyTorch golden fixtures, and over broken copies of one: every
 * missing, extra or mis-shaped tensor is named and the command exits non-zero.
 */
import { describe, expect, it } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '@selfsup/core';
import { readSafetensors, writeSafetensors } from '@selfsup/node';
import { REPO, errorLines, runCli, tmpDir } from './helpers';
import { PARITY_FIXTURES } from '../parity-fixtures';

const FIXTURES = join(REPO, 'test/fixtures/parity');

describe('selfsup parity', () => {
  for (const name of PARITY_FIXTURES) {
    it(`${name}: PASS, exit 0`, async () => {
      const r = await runCli(['parity', join(FIXTURES, name), '--backend', 'cpu']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(`parity ${name} (${join(FIXTURES, name)}) on cpu: PASS`);
      expect(r.stdout).toMatch(/^ {2}\d+ checks, 0 failed; worst: /m);
      expect(r.stdout).not.toContain('FAIL');
    });
  }

  /** A copy of the byol fixture with one of its safetensors files edited. */
  async function brokenCopy(
    file: 'init' | 'expected' | 'inputs',
    edit: (tensors: Map<string, TensorData>) => void,
  ): Promise<string> {
    const dir = join(tmpDir('parity'), 'byol');
    cpSync(join(FIXTURES, 'byol'), dir, { recursive: true });
    const path = join(dir, `${file}.safetensors`);
    const tensors = new Map<string, TensorData>(await readSafetensors(path));
    edit(tensors);
    await writeSafetensors(path, tensors);
    return dir;
  }

  const conv1 = 'online.backbone.conv1.weight';
  const reshaped = (t: TensorData): TensorData => ({
    shape: [t.shape[0] * t.shape[1], ...t.shape.slice(2)],
    data: t.data,
  });

  it('a missing, an extra or a mis-shaped tensor of the initial state is named; exit non-zero', async () => {
    const missing = await brokenCopy('init', (t) => t.delete(conv1));
    const a = await runCli(['parity', missing, '--backend', 'cpu']);
    expect(a.code).not.toBe(0);
    expect(errorLines(a.stderr)).toEqual([
      `selfsup: Error(s) in loading state_dict from ${missing}/init.safetensors:`,
    ]);
    expect(a.stderr).toContain(`\tMissing key(s) in state_dict: "${conv1}".\n`);

    const extra = await brokenCopy('init', (t) =>
      t.set('online.backbone.extra.weight', { shape: [2], data: new Float32Array(2) }),
    );
    const b = await runCli(['parity', extra, '--backend', 'cpu']);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('\tUnexpected key(s) in state_dict: "online.backbone.extra.weight".\n');

    const shape = await brokenCopy('init', (t) => t.set(conv1, reshaped(t.get(conv1)!)));
    const c = await runCli(['parity', shape, '--backend', 'cpu']);
    expect(c.code).not.toBe(0);
    expect(c.stderr).toMatch(
      new RegExp(
        `\\tsize mismatch for ${conv1.replace(/\./g, '\\.')}: copying a param with shape \\[\\d+, 3, 3\\] from checkpoint, the shape in current model is \\[\\d+, 3, 3, 3\\]`,
      ),
    );
  });

  it('a mis-shaped or extra expected tensor is listed as FAIL; exit 1', async () => {
    const key = `final.${conv1}`;
    const dir = await brokenCopy('expected', (t) => {
      t.set(key, reshaped(t.get(key)!));
      t.set('final.online.backbone.bogus.weight', { shape: [1], data: new Float32Array(1) });
    });
    const r = await runCli(['parity', dir, '--backend', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(`parity byol (${dir}) on cpu: FAIL`);
    expect(r.stdout).toMatch(/^ {2}\d+ checks, 2 failed; /m);
    const failed = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('  FAIL '))
      .map((l) => l.split(/\s+/)[2])
      .sort();
    expect(failed).toEqual(['final.online.backbone.bogus.weight', key]);
  });

  it('a view missing from the inputs is named', async () => {
    const dir = await brokenCopy('inputs', (t) => t.delete('step1.view2'));
    const r = await runCli(['parity', dir, '--backend', 'cpu']);
    expect(r.code).not.toBe(0);
    expect(errorLines(r.stderr)).toEqual([`selfsup: ${dir}/inputs.safetensors: missing 'step1.view2'`]);
  });

  it('an expected tensor missing from the fixture fails the run, naming it', async () => {
    const name = `grad.${conv1}`;
    const dir = await brokenCopy('expected', (t) => t.delete(name));
    const r = await runCli(['parity', dir, '--backend', 'cpu']);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain(name);
  });
});
