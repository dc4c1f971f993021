/**
 * selfsup <-> real torchvision, both ways, strictly: a selfsup ResNet's state dict loads into
 * torchvision.models.<arch>() (fc = Identity) with load_state_dict(strict=True), and a
 * torchvision state dict loads into selfsup's ResNet with importStateDict (strict, no optional
 * buffers); eval-mode pooled features agree. Needs a Python with torch and torchvision
 * (Debian: python3-torchvision); otherwise one SKIP line says so.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ResNet,
  RESNET_PRESETS,
  exportStateDict,
  importStateDict,
  parseSafetensors,
  resnetWidths,
  serializeSafetensors,
  tf,
} from '@selfsup/core';
import { torchvisionBuilder } from '../../packages/node/src/export/torchvision';
import { announceTorchvision, torchvisionSide } from './torchvision';

const available = announceTorchvision('torchvision round trip (test/export/torchvision-roundtrip.test.ts)');
const dir = mkdtempSync(join(tmpdir(), 'selfsup-tv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** ResNet-50 in tfjs' plain-JS cpu backend takes a minute on a busy 2-core machine. */
const SLOW = { timeout: 600_000 };

/** Relative to the largest feature: float32 convolutions summed in another order differ by ~1e-7 per op. */
const FEATURE_TOLERANCE = 1e-5;

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

const preset = (arch: string, stem: 'imagenet' | 'cifar', seed: number, lastStride?: 1 | 2) =>
  new ResNet({ ...RESNET_PRESETS[arch], widths: resnetWidths(1), stem, lastStride, seed });

function writeInput(
  name: string,
  shape: [number, number, number, number],
  seed: number,
): { path: string; x: tf.Tensor4D } {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor4D;
  const path = join(dir, name);
  writeFileSync(path, serializeSafetensors({ x: { shape, data: x.dataSync() as Float32Array } }));
  return { path, x };
}

const pooled = (net: ResNet, x: tf.Tensor4D) =>
  tf.tidy(() => tf.mean(net.eval().forward(x), [1, 2]).dataSync() as Float32Array);

const CASES = [
  { arch: 'resnet18', stem: 'imagenet' as const, size: 64, keys: 122 - 2 },
  { arch: 'resnet18', stem: 'cifar' as const, size: 16, keys: 122 - 2 },
  { arch: 'resnet50', stem: 'imagenet' as const, size: 64, keys: 320 - 2 },
];

describe.skipIf(!available)("the export command's torchvision builder lines, run by torchvision", () => {
  for (const lastStride of [2, 1] as const) {
    it(
      `resnet18-cifar, lastStride ${lastStride}: the lines build a model that loads strictly, same features`,
      SLOW,
      async () => {
        const net = preset('resnet18', 'cifar', 5, lastStride);
        const built = torchvisionBuilder(net);
        if (!('lines' in built)) throw new Error(built.reason);
        const builder = join(dir, `builder-ls${lastStride}.py`);
        writeFileSync(builder, `${built.lines.join('\n')}\n`);
        const state = join(dir, `ls${lastStride}-selfsup.safetensors`);
        writeFileSync(state, serializeSafetensors(exportStateDict(net.stateEntries())));
        // 16 px: the final map is 2x2 with the last stride, 4x4 without, so a wrong stride shows.
        const { path: input, x } = writeInput(`ls${lastStride}-input.safetensors`, [2, 16, 16, 3], 4);
        const out = join(dir, `ls${lastStride}-tv-features.safetensors`);
        const report = await torchvisionSide(
          'load',
          { state, input, out },
          { arch: 'resnet18', stem: 'cifar', builder },
        );
        expect(report).toMatchObject({ missing: [], unexpected: [] });
        const err = relativeError(pooled(net, x), parseSafetensors(readFileSync(out)).get('features')!.data);
        expect(err).toBeLessThan(FEATURE_TOLERANCE);
        x.dispose();
        net.dispose();
      },
    );
  }
});

describe.skipIf(!available)('state dicts round-trip strictly with real torchvision', () => {
  for (const c of CASES) {
    const tag = `${c.arch}-${c.stem}`;

    it(`${tag}: selfsup -> torchvision load_state_dict(strict=True), same features`, SLOW, async () => {
      const net = preset(c.arch, c.stem, 7);
      // Two training forwards: running statistics away from 0/1 and num_batches_tracked = 2.
      net.train();
      for (let i = 0; i < 2; i++)
        tf.tidy(() => net.forward(tf.randomNormal([4, 32, 32, 3], 0, 1, 'float32', i) as tf.Tensor4D));
      const state = join(dir, `${tag}-selfsup.safetensors`);
      writeFileSync(state, serializeSafetensors(exportStateDict(net.stateEntries())));
      const { path: input, x } = writeInput(`${tag}-input1.safetensors`, [2, c.size, c.size, 3], 1);
      const out = join(dir, `${tag}-tv-features.safetensors`);
      const report = await torchvisionSide('load', { state, input, out }, { arch: c.arch, stem: c.stem });
      expect(report).toMatchObject({ keys: c.keys, missing: [], unexpected: [] });
      expect(report.num_batches_tracked).toEqual([2]);
      expect(report.num_batches_tracked_dtypes).toEqual(['torch.int64']);
      const theirs = parseSafetensors(readFileSync(out)).get('features')!;
      const ours = pooled(net, x);
      expect(theirs.shape).toEqual([2, net.outChannels]);
      const err = relativeError(ours, theirs.data);
      console.log(`${tag} selfsup -> torchvision: features differ by ${err.toExponential(2)} (relative)`);
      expect(err).toBeLessThan(FEATURE_TOLERANCE);
      x.dispose();
      net.dispose();
    });

    it(
      `${tag}: torchvision -> selfsup importStateDict (strict), same features, back out unchanged`,
      SLOW,
      async () => {
        const state = join(dir, `${tag}-torchvision.safetensors`);
        const { path: input, x } = writeInput(`${tag}-input2.safetensors`, [2, c.size, c.size, 3], 2);
        const out = join(dir, `${tag}-tv-own-features.safetensors`);
        const report = await torchvisionSide(
          'make',
          { state, input, out },
          { arch: c.arch, stem: c.stem, seed: 3 },
        );
        expect(report.keys).toBe(c.keys);
        const tensors = parseSafetensors(readFileSync(state), state);
        const counts = [...tensors].filter(([k]) => k.endsWith('num_batches_tracked'));
        expect(counts.length).toBeGreaterThan(0);
        expect(counts.every(([, t]) => t.dtype === 'I64' && t.data[0] === 3)).toBe(true);
        const net = preset(c.arch, c.stem, 99);
        // Strict and with no optional buffers: every torchvision key must have its place.
        expect(importStateDict(net.stateEntries(), tensors, { source: state })).toEqual({
          missing: [],
          unexpected: [],
        });
        const err = relativeError(pooled(net, x), parseSafetensors(readFileSync(out)).get('features')!.data);
        console.log(`${tag} torchvision -> selfsup: features differ by ${err.toExponential(2)} (relative)`);
        expect(err).toBeLessThan(FEATURE_TOLERANCE);
        // And back: the same names, dtypes and values as torchvision wrote.
        const back = exportStateDict(net.stateEntries());
        expect([...back.keys()].sort()).toEqual([...tensors.keys()].sort());
        // Byte comparison: toEqual walks 11M-element typed arrays one by one, for minutes.
        const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
        const differing = [...tensors].filter(
          ([k, t]) =>
            (back.get(k)!.fileDtype ?? 'F32') !== t.dtype || !bytes(back.get(k)!.data).equals(bytes(t.data)),
        );
        expect(differing.map(([k]) => k)).toEqual([]);
        x.dispose();
        net.dispose();
      },
    );
  }
});
