// `jointBatchNorm`: SimCLR with both views in one BatchNorm batch (the paper's global BN), against
// the default of one BatchNorm batch per view.
import { beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, SeededRng, tf, type Pipeline } from '@selfsup/core';
import { ntXent, simclrPlugin, type SimCLR } from '@selfsup/plugin-simclr';

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };

function simclr(jointBatchNorm: boolean): Pipeline {
  return createPipeline(
    {
      method: { type: 'simclr', hiddenDim: 8, outDim: 8, temperature: 0.5, jointBatchNorm },
      backbone: TINY,
      data: { imageSize: 8 },
    },
    { plugins: [simclrPlugin], source: 'simclr-joint-bn.test' },
  );
}

function views(): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(3);
  const image = () =>
    tf.tensor4d(
      Array.from({ length: 4 * 8 * 8 * 3 }, () => rng.normal()),
      [4, 8, 8, 3],
    );
  return [image(), image()];
}

const lossOf = (p: Pipeline, [v1, v2]: [tf.Tensor4D, tf.Tensor4D]) =>
  tf.tidy(() => p.method.computeLoss(v1, v2).loss.dataSync()[0]);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('SimCLR jointBatchNorm', () => {
  it('is NT-Xent of the two halves of one forward over [view1; view2]', () => {
    const p = simclr(true);
    const [v1, v2] = views();
    const expected = tf.tidy(() => {
      const z = (p.method as SimCLR).online.forward(tf.concat([v1, v2])).global;
      return ntXent(tf.slice(z, 0, 4), tf.slice(z, 4, 4), 0.5).dataSync()[0];
    });
    expect(lossOf(p, [v1, v2])).toBeCloseTo(expected, 5);
    p.dispose();
  });

  it.each([
    { mode: 'training (batch statistics)', training: true, differ: true },
    { mode: 'eval (running statistics)', training: false, differ: false },
  ])('against one BatchNorm batch per view, in $mode: differs $differ', ({ training, differ }) => {
    // Fresh pipelines each: a training forward moves the running statistics.
    const [joint, separate] = [simclr(true), simclr(false)];
    joint.method.train(training);
    separate.method.train(training);
    const v = views();
    const gap = Math.abs(lossOf(joint, v) - lossOf(separate, v));
    if (differ) expect(gap).toBeGreaterThan(1e-3);
    else expect(gap).toBeLessThan(1e-5);
    joint.dispose();
    separate.dispose();
  });
});
