/**
 * `selfsup export` on a tiny run: which part goes out under which names, and the errors. The
 * loading in torchvision, tfjs and Chromium is test/export/use-trained.test.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, parseSafetensorsWithMetadata, type SafetensorsTensor } from '@selfsup/core';
import { errorLines, runCli, tmpDir, trainTinyRun } from './helpers';

let dir: string;
let runDir: string;
let ckpt: Map<string, SafetensorsTensor>;

beforeAll(async () => {
  dir = tmpDir('export');
  const trained = await trainTinyRun(dir, 'lewel_m');
  runDir = trained.runDir;
  ckpt = decodeCheckpoint(readFileSync(trained.checkpointFile), trained.checkpointFile).tensors;
}, 300_000);

const exportCli = (...args: string[]) =>
  runCli(['export', '--checkpoint', runDir, '--backend', 'cpu', ...args]);

/** Every tensor of the file equals the checkpoint's under `prefix`, and nothing of it is left out. */
function expectSameAs(file: string, prefix: string) {
  const { tensors } = parseSafetensorsWithMetadata(readFileSync(file), file);
  const want = [...ckpt.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  expect([...tensors.keys()].sort()).toEqual(want.sort());
  for (const [k, t] of tensors) expect(t.data, k).toEqual(ckpt.get(prefix + k)!.data);
  return tensors;
}

describe('selfsup export', () => {
  it('--what online / target: the whole network, backbone under backbone., heads by their names', async () => {
    const online = join(dir, 'online.safetensors');
    const r = await exportCli('--format', 'torchvision', '--what', 'online', '--out', online);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.stdout).toContain("the backbone's tensors are under 'backbone.'");
    const names = [...expectSameAs(online, 'model.online.').keys()];
    expect(names).toContain('backbone.conv1.weight');
    expect(names).toContain('proj_obj.mlp.0.weight'); // LEWEL_M's per-slot head
    const target = join(dir, 'target.safetensors');
    expect((await exportCli('--format', 'torchvision', '--what', 'target', '--out', target)).code).toBe(0);
    expectSameAs(target, 'model.target.');
    const md = parseSafetensorsWithMetadata(readFileSync(target)).metadata;
    expect(md['selfsup.part']).toBe('target');
    expect(md['selfsup.torchvision']).toBeUndefined();
  });

  it("--format tfjs --what target: the target network's backbone", async () => {
    const out = join(dir, 'target-tfjs');
    const r = await exportCli('--format', 'tfjs', '--what', 'target', '--out', out);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.stdout).toContain("of the target network's backbone (step 4)");
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.userDefinedMetadata.selfsup).toMatchObject({ part: 'target', step: 4, imageSize: 16 });
    expect(existsSync(join(out, 'group1-shard1of1.bin'))).toBe(true);
  });

  it('refuses an unknown format or part, and tfjs of the whole online network, naming the value', async () => {
    const err = async (...args: string[]) => {
      const r = await exportCli(...args);
      expect(r.code).toBe(2);
      return errorLines(r.stderr).join('\n');
    };
    expect(await err('--format', 'onnx')).toBe('selfsup: --format onnx: expected one of torchvision, tfjs');
    expect(await err('--format', 'torchvision', '--what', 'head')).toBe(
      'selfsup: --what head: expected one of backbone, online, target',
    );
    expect(await err('--format', 'tfjs', '--what', 'online')).toContain(
      "selfsup: --format tfjs gives a backbone's pooled features: --what backbone",
    );
  });
});
