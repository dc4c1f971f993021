/**
 * `selfsup train --init-from FILE[:prefix]`: a torchvision-named backbone file (here one that
 * `selfsup export` wrote) or a selfsup checkpoint; every mismatch named as importStateDict names
 * it. And checkpoints written before num_batches_tracked existed still evaluate and resume.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPipeline,
  decodeCheckpoint,
  encodeCheckpoint,
  parseConfig,
  parseSafetensorsWithMetadata,
  serializeSafetensors,
  tf,
  type Pipeline,
  type SafetensorsTensor,
  type TensorData,
} from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import YAML from 'yaml';
import { initFromFile } from '../../packages/node/src/cli/init-from';
import { ensureDir, errorLines, runCli, tinyConfig, tmpDir, writeTinyConfig, trainTinyRun } from './helpers';

let dir: string;
let runDir: string;
let ckptFile: string;
let exported: string;
let exportedTensors: Map<string, SafetensorsTensor>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = tmpDir('init-from');
  ({ runDir, checkpointFile: ckptFile } = await trainTinyRun(dir, 'byol'));
  exported = join(dir, 'backbone.safetensors');
  const e = await runCli([
    'export',
    '--checkpoint',
    runDir,
    '--format',
    'torchvision',
    '--out',
    exported,
    '--backend',
    'cpu',
  ]);
  expect(errorLines(e.stderr), e.stderr).toEqual([]);
  // Widths [4, 8] are no torchvision builder's, and export says so.
  expect(e.stdout).toContain(
    "not a torchvision builder's model: torchvision has no ResNet with basic blocks [1, 1]",
  );
  exportedTensors = parseSafetensorsWithMetadata(readFileSync(exported)).tensors;
}, 300_000);

/** A fresh pipeline of the tiny config (other seed), optionally other backbone widths. */
function freshPipeline(widths = [4, 8]): Pipeline {
  const raw = YAML.parse(tinyConfig('byol')) as Record<string, unknown>;
  raw.backbone = { type: 'resnet', blocks: [1, 1], widths, stem: 'cifar' };
  (raw.train as Record<string, unknown>).seed = 7;
  return createPipeline(parseConfig(raw, 'tiny'), { plugins: [byolPlugin] });
}

const values = (p: Pipeline, name: string) =>
  Array.from(
    p.method
      .stateEntries()
      .find((e) => e.name === name)!
      .variable.dataSync(),
  );

function writeVariant(name: string, edit: (t: Map<string, TensorData>) => void): string {
  const t = new Map<string, TensorData>(exportedTensors);
  edit(t);
  const path = join(dir, name);
  writeFileSync(path, serializeSafetensors(t));
  return path;
}

describe('initFromFile', () => {
  it('a torchvision-named file: the backbone exactly, and the target backbone as a copy', async () => {
    const p = freshPipeline();
    try {
      const line = await initFromFile(p.method, exported);
      expect(line).toBe(
        `init: the backbone from ${exported}: 36 tensors; the target network starts as a copy`,
      );
      for (const [k, t] of exportedTensors) {
        const want = k.endsWith('.weight') && t.shape.length === 4 ? undefined : Array.from(t.data);
        if (want) expect(values(p, `online.backbone.${k}`), k).toEqual(want);
        expect(values(p, `target.backbone.${k}`), k).toEqual(values(p, `online.backbone.${k}`));
      }
      // Conv weights are stored OIHW in the file, HWIO in tfjs: compare one permuted.
      const w = exportedTensors.get('conv1.weight')!; // [4, 3, 3, 3]
      const hwio = values(p, 'online.backbone.conv1.weight');
      expect(hwio[((1 * 3 + 2) * 3 + 0) * 4 + 3]).toBe(w.data[((3 * 3 + 0) * 3 + 1) * 3 + 2]);
    } finally {
      p.dispose();
    }
  });

  it('a selfsup checkpoint (file or run folder): the whole online network; :prefix picks a part', async () => {
    const ckpt = decodeCheckpoint(readFileSync(ckptFile), ckptFile).tensors;
    for (const spec of [ckptFile, runDir]) {
      const p = freshPipeline();
      try {
        const line = await initFromFile(p.method, spec);
        expect(line).toContain(
          `init: the online network (backbone and heads) from ${ckptFile} (prefix 'model.online')`,
        );
        for (const e of p.method.stateEntries().filter((x) => x.name.startsWith('online.')))
          expect(values(p, e.name).length, e.name).toBe(ckpt.get(`model.${e.name}`)!.data.length);
        expect(values(p, 'online.neck.mlp.1.running_var')).toEqual(
          Array.from(ckpt.get('model.online.neck.mlp.1.running_var')!.data),
        );
        expect(values(p, 'target.neck.mlp.1.running_var')).toEqual(
          values(p, 'online.neck.mlp.1.running_var'),
        );
      } finally {
        p.dispose();
      }
    }
    const p = freshPipeline();
    try {
      expect(await initFromFile(p.method, `${ckptFile}:model.online.backbone`)).toContain(
        'init: the backbone from',
      );
      await expect(initFromFile(p.method, `${ckptFile}:model.nothing`)).rejects.toThrow(
        `--init-from ${ckptFile}:model.nothing: ${ckptFile}: no tensor under the prefix 'model.nothing' (the file's names start with: model, optimizer)`,
      );
    } finally {
      p.dispose();
    }
  });

  it('names every mismatch: size, missing, unexpected (with a hint for torchvision fc)', async () => {
    const p = freshPipeline([8, 16]);
    try {
      await expect(initFromFile(p.method, exported)).rejects.toThrow(
        `Error(s) in loading state_dict from ${exported}:\n\tsize mismatch for conv1.weight: copying a param with shape [4, 3, 3, 3] from checkpoint, the shape in current model is [8, 3, 3, 3].`,
      );
    } finally {
      p.dispose();
    }
    const q = freshPipeline();
    try {
      const withFc = writeVariant('with-fc.safetensors', (t) => {
        t.set('fc.weight', { shape: [10, 8], data: new Float32Array(80) });
        t.set('fc.bias', { shape: [10], data: new Float32Array(10) });
      });
      await expect(initFromFile(q.method, withFc)).rejects.toThrow(
        /Unexpected key\(s\) in state_dict: "fc.bias", "fc.weight"\.\n\t\(fc\.\* is torchvision's classifier/,
      );
      const missing = writeVariant('missing.safetensors', (t) => t.delete('layer1.0.bn1.running_var'));
      await expect(initFromFile(q.method, missing)).rejects.toThrow(
        'Missing key(s) in state_dict: "layer1.0.bn1.running_var".',
      );
      // A file from before num_batches_tracked: those counters are kept, nothing else may be absent.
      const old = writeVariant('old.safetensors', (t) => {
        for (const k of [...t.keys()]) if (k.endsWith('num_batches_tracked')) t.delete(k);
      });
      expect(await initFromFile(q.method, old)).toContain(
        '30 tensors; kept 6 buffer(s) the file lacks (bn1.num_batches_tracked, ...)',
      );
      await expect(initFromFile(q.method, join(dir, 'nope.safetensors:x'))).rejects.toThrow(
        `--init-from ${join(dir, 'nope.safetensors:x')}: no such file or folder '${join(dir, 'nope.safetensors')}'`,
      );
    } finally {
      q.dispose();
    }
  });
});

describe('selfsup train --init-from', () => {
  it('starts from the file, says so, and records it in final.json', async () => {
    const config = writeTinyConfig(dir, 'from-file', 'byol');
    const out = join(dir, 'run-init');
    const r = await runCli([
      'train',
      '-c',
      config,
      '--out',
      out,
      '--backend',
      'cpu',
      '-q',
      '--set',
      'train.epochs=1',
      '--init-from',
      exported,
    ]);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.stderr).toContain(`init: the backbone from ${exported}: 36 tensors`);
    expect(r.stdout).toMatch(
      /kNN top-1 \(k=5\): \d+\.\d\d% \(at --init-from: \d+\.\d\d%, raw pixels: \d+\.\d\d%\)/,
    );
    expect(JSON.parse(readFileSync(join(out, 'final.json'), 'utf8')).initFrom).toBe(exported);
  });

  it('a file that does not fit fails before training, naming the file and the keys', async () => {
    const config = writeTinyConfig(dir, 'wide', 'byol');
    const out = join(dir, 'run-wide');
    const r = await runCli([
      'train',
      '-c',
      config,
      '--out',
      out,
      '--backend',
      'cpu',
      '-q',
      '--set',
      'backbone.widths=[8, 16]',
      '--init-from',
      exported,
    ]);
    expect(r.code).toBe(2);
    const err = errorLines(r.stderr).join('\n');
    expect(err).toContain(
      `selfsup: --init-from ${exported}: Error(s) in loading state_dict from ${exported}:`,
    );
    expect(r.stderr).toContain('size mismatch for conv1.weight');
  });
});

describe('checkpoints from before num_batches_tracked', () => {
  it('still evaluate and resume', async () => {
    const oldRun = join(dir, 'old-run');
    ensureDir(join(oldRun, 'checkpoints'));
    copyFileSync(join(runDir, 'config.yaml'), join(oldRun, 'config.yaml'));
    const c = decodeCheckpoint(readFileSync(ckptFile), ckptFile);
    const tensors = new Map([...c.tensors].filter(([k]) => !k.endsWith('num_batches_tracked')));
    expect(tensors.size).toBeLessThan(c.tensors.size);
    writeFileSync(
      join(oldRun, 'checkpoints', 'checkpoint-00000004.safetensors'),
      encodeCheckpoint(c.step, { tensors, meta: c.meta }),
    );
    const ev = await runCli(['eval', 'knn', '--checkpoint', oldRun, '--backend', 'cpu', '--json']);
    expect(errorLines(ev.stderr), ev.stderr).toEqual([]);
    expect(JSON.parse(ev.stdout).knn_top1).toBeGreaterThanOrEqual(0);
    const re = await runCli([
      'train',
      '-c',
      join(oldRun, 'config.yaml'),
      '--out',
      oldRun,
      '--backend',
      'cpu',
      '-q',
      '--resume',
      '--set',
      'train.epochs=2',
    ]);
    expect(errorLines(re.stderr), re.stderr).toEqual([]);
    expect(re.code).toBe(0);
    // The resumed run writes the counters again.
    const last = join(oldRun, 'checkpoints', 'checkpoint-00000008.safetensors');
    expect(
      decodeCheckpoint(readFileSync(last), last).tensors.get('model.online.backbone.bn1.num_batches_tracked')!
        .dtype,
    ).toBe('I64');
  });
});
