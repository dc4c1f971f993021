/**
 * One training step (forward + backward) of a CIFAR ResNet-18 at width 16, 32x32, batch 64,
 * with a linear head and softmax cross-entropy: ms per step on tfjs wasm with the training
 * kernels, per thread count. (Stock wasm cannot run it: it has no Conv2DBackpropFilter.)
 *
 *   npx vite-node bench/kernels/step.ts [threads...]     (default: 1 2)
 */
import * as tf from '@tensorflow/tfjs-core';
import { ResNet } from '../../packages/core/src/nn/resnet';
import { activateWasm } from '../../packages/backend-wasm/src/wasm_init';
import { registerTrainingKernels } from '../../packages/backend-wasm/src/kernels';
import { BATCH } from './shapes';

const threadCounts = process.argv.slice(2).map(Number);
if (threadCounts.length === 0) threadCounts.push(1, 2);

for (const threads of threadCounts) {
  const state = await activateWasm(threads);
  registerTrainingKernels();
  const net = new ResNet({
    block: 'basic',
    blocks: [2, 2, 2, 2],
    widths: [16, 32, 64, 128],
    stem: 'cifar',
    seed: 1,
  });
  const head = tf.variable(tf.randomNormal([128, 10], 0, 0.1, 'float32', 2));
  const vars = [...net.namedParameters().map((p) => p.variable), head];
  const x = tf.randomNormal([BATCH, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const labels = tf.oneHot(
    tf.tensor1d(
      [...Array(BATCH).keys()].map((i) => i % 10),
      'int32',
    ),
    10,
  );
  const step = () => {
    const { value, grads } = tf.variableGrads(() => {
      const z = tf.mean(net.forward(x), [1, 2]);
      return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.logSoftmax(tf.matMul(z, head))), 1))) as tf.Scalar;
    }, vars);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  step(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log(
    `wasm patched ${state.threads}t (${state.build}): best ${times[0].toFixed(0)} ms, median ${times[2].toFixed(0)} ms per step`,
  );
  net.dispose();
  tf.dispose([head, x, labels]);
}
