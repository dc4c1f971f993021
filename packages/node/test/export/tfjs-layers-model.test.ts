import { beforeAll, describe, expect, it } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import { ResNet, SeededRng, tf, type ResNetOptions } from '@selfsup/core';
import { layersModelFiles, resnetLayersModel, SHARD_BYTES } from '../../src/export/tfjs-layers-model';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Random BN statistics and affine terms, so eval-mode BN is not the identity. */
function perturbBatchNorms(net: ResNet, seed: number): void {
  const rng = new SeededRng(seed);
  for (const e of net.stateEntries()) {
    const n = e.variable.size;
    const u = () => Float32Array.from({ length: n }, () => rng.next());
    if (e.name.endsWith('running_var'))
      e.variable.assign(
        tf.tensor(
          u().map((v) => 0.5 + v),
          e.variable.shape,
        ),
      );
    else if (e.name.endsWith('running_mean') || e.name.endsWith('.bias'))
      e.variable.assign(
        tf.tensor(
          u().map((v) => v - 0.5),
          e.variable.shape,
        ),
      );
    else if (/bn\d\.weight$|downsample\.1\.weight$/.test(e.name))
      e.variable.assign(
        tf.tensor(
          u().map((v) => 0.5 + v),
          e.variable.shape,
        ),
      );
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function roundTrip(options: Omit<ResNetOptions, 'seed'>, input: [number, number, number, number]) {
  const net = new ResNet({ ...options, seed: 3 });
  perturbBatchNorms(net, 5);
  net.eval();
  const model = resnetLayersModel(net);
  const files = await layersModelFiles(model, { note: 'test' }, 'selfsup test');
  model.dispose();
  const manifest = files.modelJson.weightsManifest as Array<{
    paths: string[];
    weights: tf.io.WeightsManifestEntry[];
  }>;
  const weightData = new Uint8Array(files.shards.reduce((n, s) => n + s.bytes.length, 0));
  let off = 0;
  for (const s of files.shards) {
    weightData.set(s.bytes, off);
    off += s.bytes.length;
  }
  const loaded = await tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: manifest[0].weights,
      weightData: weightData.buffer,
    }),
  );
  const x = tf.randomNormal(input, 0, 1, 'float32', 11) as tf.Tensor4D;
  const expected = tf.tidy(() => tf.mean(net.forward(x), [1, 2]));
  const got = loaded.predict(x) as tf.Tensor;
  const result = {
    shape: got.shape,
    diff: maxAbsDiff(got.dataSync(), expected.dataSync()),
    scale: Math.max(...Array.from(expected.dataSync(), Math.abs)),
    files,
  };
  tf.dispose([x, expected, got]);
  loaded.dispose();
  net.dispose();
  return result;
}

describe('resnetLayersModel: a selfsup ResNet as a tfjs LayersModel', () => {
  it('basic blocks, cifar stem: same pooled features to 1e-5 after save and load', async () => {
    const r = await roundTrip(
      { block: 'basic', blocks: [1, 2], widths: [4, 8], stem: 'cifar' },
      [2, 9, 7, 3],
    );
    expect(r.shape).toEqual([2, 8]);
    expect(r.scale).toBeGreaterThan(0.01);
    expect(r.diff).toBeLessThan(1e-5);
  });

  it('bottleneck blocks, imagenet stem (padded max-pool), odd image sizes', async () => {
    const r = await roundTrip(
      { block: 'bottleneck', blocks: [1, 1, 1], widths: [4, 8, 8], stem: 'imagenet' },
      [3, 23, 18, 3],
    );
    expect(r.shape).toEqual([3, 32]);
    expect(r.scale).toBeGreaterThan(0.01);
    expect(r.diff).toBeLessThan(1e-5);
    const names = (
      r.files.modelJson.weightsManifest as Array<{ weights: Array<{ name: string }> }>
    )[0].weights.map((w) => w.name);
    // PyTorch module names as layer names.
    expect(names).toContain('conv1/kernel');
    expect(names).toContain('layer2.0.downsample.0/kernel');
    expect(names).toContain('layer3.0.bn3/moving_variance');
  });

  it('shards weights at 4 MiB like tensorflowjs_converter', async () => {
    const net = new ResNet({ block: 'basic', blocks: [1, 1], widths: [64, 512], stem: 'cifar', seed: 1 });
    const files = await layersModelFiles(resnetLayersModel(net), {}, 'selfsup test');
    net.dispose();
    const total = files.shards.reduce((n, s) => n + s.bytes.length, 0);
    expect(files.shards.length).toBe(Math.ceil(total / SHARD_BYTES));
    expect(files.shards.length).toBeGreaterThan(1);
    expect(files.shards.map((s) => s.name)[0]).toBe(`group1-shard1of${files.shards.length}.bin`);
    expect(files.shards.slice(0, -1).every((s) => s.bytes.length === SHARD_BYTES)).toBe(true);
  });
});
