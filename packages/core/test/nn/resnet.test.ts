import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { ResNet, RESNET_PRESETS, resnetWidths, type ResNetOptions } from '../../src/nn';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const preset = (name: string, over: Partial<ResNetOptions> = {}): ResNet =>
  new ResNet({ ...RESNET_PRESETS[name], widths: resnetWidths(1), stem: 'imagenet', seed: 0, ...over });

describe('ResNet matches torchvision (fc removed)', () => {
  it('resnetWidths: 64 * m * 2^i, at least 1', () => {
    expect(resnetWidths(1)).toEqual([64, 128, 256, 512]);
    expect(resnetWidths(0.25)).toEqual([16, 32, 64, 128]);
    expect(resnetWidths(0.001, 2)).toEqual([1, 1]);
  });

  it('resnet18: 11,176,512 parameters and torchvision state-dict names', () => {
    const net = preset('resnet18');
    expect(net.parameterCount()).toBe(11_176_512);
    expect(net.outChannels).toBe(512);
    const entries = net.stateEntries();
    const names = entries.map((e) => e.name);
    // torchvision's 122 keys minus fc.weight/fc.bias.
    expect(names.length).toBe(120);
    expect(names.filter((n) => n.endsWith('.num_batches_tracked')).length).toBe(20);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 5)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
    ]);
    expect(names[5]).toBe('bn1.num_batches_tracked');
    for (const n of [
      'layer1.0.conv1.weight',
      'layer1.1.bn2.running_var',
      'layer2.0.downsample.0.weight',
      'layer2.0.downsample.1.running_mean',
      'layer3.0.downsample.1.weight',
      'layer4.1.bn2.bias',
    ])
      expect(names).toContain(n);
    // A stage's first block downsamples only when the shape changes: never in layer1 of resnet18.
    expect(names.some((n) => n.startsWith('layer1.0.downsample'))).toBe(false);
    expect(names.at(-1)).toBe('layer4.1.bn2.num_batches_tracked');
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('conv1.weight')!.variable.shape).toEqual([7, 7, 3, 64]);
    expect(byName.get('conv1.weight')!.layout).toBe('conv2d');
    expect(byName.get('layer2.0.downsample.0.weight')!.variable.shape).toEqual([1, 1, 64, 128]);
    expect(byName.get('bn1.running_var')!.kind).toBe('buffer');
    expect(net.namedParameters().length).toBe(60);
    net.dispose();
  });

  it('resnet34: 21,284,672 parameters', () => {
    const net = preset('resnet34');
    expect(net.parameterCount()).toBe(21_284_672);
    expect(net.stateEntries().map((e) => e.name)).toContain('layer3.5.bn2.weight');
    net.dispose();
  });

  it('resnet50: 23,508,032 parameters, bottleneck conv3/bn3 names, 2048 channels out', () => {
    const net = preset('resnet50');
    expect(net.parameterCount()).toBe(23_508_032);
    expect(net.outChannels).toBe(2048);
    const entries = net.stateEntries();
    const names = entries.map((e) => e.name);
    // torchvision's 320 keys minus fc (2).
    expect(names.length).toBe(318);
    for (const n of [
      'layer1.0.conv3.weight',
      'layer1.0.bn3.running_mean',
      'layer1.0.downsample.0.weight',
      'layer4.2.bn3.bias',
    ])
      expect(names).toContain(n);
    const byName = new Map(entries.map((e) => [e.name, e.variable.shape]));
    // v1.5: the stride-2 conv is the 3x3 conv2; conv1/conv3 are 1x1.
    expect(byName.get('layer2.0.conv1.weight')).toEqual([1, 1, 256, 128]);
    expect(byName.get('layer2.0.conv2.weight')).toEqual([3, 3, 128, 128]);
    expect(byName.get('layer2.0.conv3.weight')).toEqual([1, 1, 128, 512]);
    net.dispose();
  });

  it('rejects blocks and widths of different lengths, naming both', () => {
    expect(() => new ResNet({ block: 'basic', blocks: [1, 1], widths: [4], stem: 'cifar', seed: 0 })).toThrow(
      /blocks \(1,1\) and widths \(4\)/,
    );
  });
});

describe('ResNet forward shapes (NHWC)', () => {
  const small = resnetWidths(0.125); // [8, 16, 32, 64]

  it('imagenet stem: /32 overall (7x7/2 conv, 3x3/2 max-pool, three stride-2 stages)', () => {
    const net = preset('resnet18', { widths: small });
    const y = tf.tidy(() => net.forward(tf.zeros([2, 64, 64, 3]) as tf.Tensor4D));
    expect(y.shape).toEqual([2, 2, 2, 64]);
    // Odd size, PyTorch floor arithmetic: 33 -> 17 -> 9 -> 9 -> 5 -> 3 -> 2.
    const odd = tf.tidy(() => net.forward(tf.zeros([1, 33, 33, 3]) as tf.Tensor4D));
    expect(odd.shape).toEqual([1, 2, 2, 64]);
    tf.dispose([y, odd]);
    net.dispose();
  });

  it('cifar stem: 3x3/1 conv, no pool, /8 overall; bottleneck gives 4x channels', () => {
    const basic = preset('resnet18', { widths: small, stem: 'cifar' });
    const y = tf.tidy(() => basic.forward(tf.ones([2, 32, 32, 3]) as tf.Tensor4D));
    expect(y.shape).toEqual([2, 4, 4, 64]);
    expect(basic.stateEntries()[0].variable.shape).toEqual([3, 3, 3, 8]);
    const bottleneck = preset('resnet50', { widths: resnetWidths(1 / 16), stem: 'cifar' });
    const z = tf.tidy(() => bottleneck.forward(tf.ones([1, 16, 16, 3]) as tf.Tensor4D));
    expect(z.shape).toEqual([1, 2, 2, 4 * 32]);
    expect(bottleneck.outChannels).toBe(128);
    tf.dispose([y, z]);
    basic.dispose();
    bottleneck.dispose();
  });

  it('lastStride 1: the last stage keeps the previous resolution, with the same parameters', () => {
    const strided = preset('resnet18', { widths: small, stem: 'cifar' });
    const fine = preset('resnet18', { widths: small, stem: 'cifar', lastStride: 1 });
    const state = (n: ResNet) =>
      n.stateEntries().map((e) => ({ name: e.name, values: Array.from(e.variable.dataSync()) }));
    expect(state(fine)).toEqual(state(strided));
    const [y, z] = tf.tidy(() => {
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      return [strided.forward(x), fine.forward(x)];
    });
    expect(y.shape).toEqual([2, 4, 4, 64]);
    expect(z.shape).toEqual([2, 8, 8, 64]);
    tf.dispose([y, z]);
    strided.dispose();
    fine.dispose();
  });

  it('same seed gives the same weights; another seed does not', () => {
    const opts = { block: 'basic' as const, blocks: [1, 1], widths: [4, 8], stem: 'cifar' as const };
    const a = new ResNet({ ...opts, seed: 7 });
    const b = new ResNet({ ...opts, seed: 7 });
    const c = new ResNet({ ...opts, seed: 8 });
    const w = (n: ResNet) => Array.from(n.stateEntries()[0].variable.dataSync());
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(c));
    [a, b, c].forEach((n) => n.dispose());
  });
});
