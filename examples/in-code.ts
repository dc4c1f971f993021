import { createPipeline, trainStep, tf } from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { lewelPlugin } from '@selfsup/plugin-lewel';

const { method, optimizer, baseLr } = createPipeline(
  {
    method: { type: 'byol', hiddenDim: 512, outDim: 128 },
    aggregator: { type: 'lewel', heads: 4 }, // LEWEL_B; 'global' gives plain BYOL
    backbone: { type: 'resnet18', stem: 'cifar', widthMultiplier: 0.25 },
  },
  { plugins: [byolPlugin, lewelPlugin] },
);
const [v1, v2] = [tf.randomNormal([8, 32, 32, 3]), tf.randomNormal([8, 32, 32, 3])] as tf.Tensor4D[];
const { loss } = trainStep(method, optimizer, v1, v2, { lr: baseLr, momentum: 0.99 });
const maps = method.alignmentMaps!(v1); // [8, 128, 4, 4]: where each slot looks
console.log(`loss ${loss.toFixed(4)}, maps [${maps.shape}]`);
