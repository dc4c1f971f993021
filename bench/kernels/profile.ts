/**
 * Where one training step of the bench model goes on wasm: wall time of the step, then time per
 * kernel name (and the top kernel+shape cells) from tf.profile (wasm kernels are synchronous,
 * so a kernel's time is its own).
 *
 *   npx vite-node -c vitest.config.ts bench/kernels/profile.ts [method] [threads] [width] [res] [batch] [top]
 *   (defaults: byol 2 16 32 64 25; SKIP_KERNELS=a,b unregisters those wasm kernels first)
 */
import 'reflect-metadata';
import { tf } from '../../packages/core/src/tf';
import { createPipeline } from '../../packages/core/src/di/pipeline';
import { trainStep } from '../../packages/core/src/train/step';
import { benchConfig } from '../../packages/node/src/cli/commands/bench';
import { BENCH_MODEL } from '../../packages/core/src/bench/presets';
import { prepareRuntime } from '../../packages/node/src/runtime/runtime';

const [method = 'byol', threadsArg = '2', widthArg = '16', resArg = '32', batchArg = '64', topArg = '25'] =
  process.argv.slice(2);
const [threads, width, res, batch, top] = [threadsArg, widthArg, resArg, batchArg, topArg].map(Number);

const runtime = await prepareRuntime({ backend: 'wasm', threads });
// A/B: SKIP_KERNELS=SelfsupBatchNormTrain,... drops those wasm kernels (layers fall back to op chains).
for (const name of (process.env.SKIP_KERNELS ?? '').split(',').filter(Boolean))
  tf.unregisterKernel(name, 'wasm');
const pipeline = createPipeline(benchConfig(runtime.registry, method, width), { plugins: runtime.plugins });
const v1 = tf.randomNormal([batch, res, res, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
const v2 = tf.randomNormal([batch, res, res, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
const step = () =>
  trainStep(pipeline.method, pipeline.optimizer, v1, v2, {
    lr: pipeline.baseLr,
    momentum: BENCH_MODEL.ema,
  });

step(); // warm-up
const times: number[] = [];
const cpu: number[] = [];
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  step();
  const c1 = process.cpuUsage(c0);
  times.push(performance.now() - t0);
  cpu.push((c1.user + c1.system) / 1000);
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
// CPU time (all threads) moves less than wall time when other jobs share the cores.
console.log(
  `${method} ${threads}t: step best ${times[0].toFixed(0)} ms, median ${times[2].toFixed(0)} ms; ` +
    `cpu best ${cpu[0].toFixed(0)} ms, median ${cpu[2].toFixed(0)} ms`,
);

const info = await tf.profile(() => {
  step();
});
const byName = new Map<string, { ms: number; n: number }>();
const byCell = new Map<string, { ms: number; n: number }>();
let total = 0;
for (const k of info.kernels) {
  const ms = (await k.kernelTimeMs) as number;
  total += ms;
  const a = byName.get(k.name) ?? { ms: 0, n: 0 };
  a.ms += ms;
  a.n++;
  byName.set(k.name, a);
  const cell = `${k.name} ${JSON.stringify(k.inputShapes)}`;
  const c = byCell.get(cell) ?? { ms: 0, n: 0 };
  c.ms += ms;
  c.n++;
  byCell.set(cell, c);
}
console.log(`kernels: ${info.kernels.length}, sum of kernel times ${total.toFixed(0)} ms`);
for (const [name, a] of [...byName].sort((p, q) => q[1].ms - p[1].ms).slice(0, top))
  console.log(`${a.ms.toFixed(1).padStart(8)} ms ${String(a.n).padStart(5)}x  ${name}`);
console.log('--- top cells');
for (const [cell, a] of [...byCell]
  .filter(([c]) => !/^(Conv2D|forward)/.test(c))
  .sort((p, q) => q[1].ms - p[1].ms)
  .slice(0, top))
  console.log(`${a.ms.toFixed(1).padStart(8)} ms ${String(a.n).padStart(5)}x  ${cell}`);
pipeline.dispose();
tf.dispose([v1, v2]);
