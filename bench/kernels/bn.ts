/**
 * BatchNorm training forward + backward on wasm: fused kernels vs the op chain, per shape (ms,
 * best of 15, and ns per element for the fused pair).
 *
 *   npx vite-node -c vitest.config.ts bench/kernels/bn.ts
 */
import 'reflect-metadata';
import { tf } from '../../packages/core/src/tf';
import { BatchNorm, BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '../../packages/core/src/nn';
import { activateWasm } from '../../packages/backend-wasm/src/wasm_init';
import { registerTrainingKernels, trainingKernels } from '../../packages/backend-wasm/src/kernels';

await activateWasm(1);
registerTrainingKernels();
const fusedConfigs = trainingKernels.filter((k) =>
  [BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD].includes(k.kernelName),
);
const shapes = [
  [64, 32, 32, 16],
  [64, 16, 16, 32],
  [64, 8, 8, 64],
  [64, 4, 4, 128],
  [4096, 1024],
  [64, 1024],
];
function time(f: () => void): number {
  f();
  let best = Infinity;
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
for (const shape of shapes) {
  const c = shape[shape.length - 1];
  const bn = new BatchNorm(c);
  const x = tf.randomNormal(shape, 1, 2, 'float32', 1);
  const dy = tf.randomNormal(shape, 0, 1, 'float32', 2);
  const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(bn.forward(xi), dy)));
  const fwd = () => tf.tidy(() => void bn.forward(x));
  const both = () => tf.dispose(g(x));
  const r: string[] = [];
  for (const fused of [false, true]) {
    for (const k of fusedConfigs) {
      if (fused) tf.registerKernel(k);
      else if (tf.getKernel(k.kernelName, 'wasm')) tf.unregisterKernel(k.kernelName, 'wasm');
    }
    const f = time(fwd);
    const fb = time(both);
    r.push(`${fused ? 'fused' : 'chain'} fwd ${f.toFixed(2)} ms, fwd+bwd ${fb.toFixed(2)} ms`);
    if (fused) r.push(`(${((fb * 1e6) / x.size).toFixed(2)} ns/elem incl. the mul/sum of the probe)`);
  }
  console.log(`[${shape}]: ${r.join('; ')}`);
  tf.dispose([x, dy]);
  bn.dispose();
}
