/**
 * GFLOP/s of the training kernels on tfjs-backend-wasm, stock 4.22 vs patched
 * (@selfsup/backend-wasm's training kernels), 1 and 2 threads, at CIFAR ResNet-18 w16 shapes.
 *
 *   npx vite-node bench/kernels/wasm.ts [threads...]     (default: 1 2; PASSES=2; ONLY=text keeps the shapes whose name has it)
 *
 * Prints a markdown table. Each figure is the best of several timed runs after a warm-up, over
 * PASSES passes of the whole table (best, not mean: on a shared machine the slow outliers are
 * other processes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { activateWasm } from '../../packages/backend-wasm/src/wasm_init';
import { registerTrainingKernels, unregisterTrainingKernels } from '../../packages/backend-wasm/src/kernels';
import { BATCH, convFlops, convOut, convShapes, matMulFlops, matMulShapes } from './shapes';

const threadCounts = process.argv.slice(2).map(Number);
if (threadCounts.length === 0) threadCounts.push(1, 2);

/** Best time in ms of f, after one warm-up; stops after ~1.5 s or 15 runs. */
function bestMs(f: () => tf.Tensor): number {
  tf.dispose(f());
  let best = Infinity;
  let total = 0;
  for (let i = 0; i < 15 && (i < 3 || total < 1500); i++) {
    const t0 = performance.now();
    const r = f(); // wasm kernels run synchronously: done on return, no read-back timed
    const dt = performance.now() - t0;
    r.dispose();
    best = Math.min(best, dt);
    total += dt;
  }
  return best;
}

function tryGflops(flops: number, f: () => tf.Tensor): string {
  try {
    return (flops / bestMs(f) / 1e6).toFixed(1);
  } catch (e) {
    // The stock backend has no Conv2DBackpropFilter.
    return /not registered/.test((e as Error).message) ? 'missing' : 'error';
  }
}

const rand = (shape: number[]) => tf.randomUniform(shape, -1, 1, 'float32', 1);

type Row = { name: string; op: string; cells: Record<string, string> };
const rows: Row[] = [];
const row = (name: string, op: string) => {
  let r = rows.find((x) => x.name === name && x.op === op);
  if (r == null) rows.push((r = { name, op, cells: {} }));
  return r;
};

const passes = Number(process.env.PASSES ?? 2);
const only = (name: string) => name.includes(process.env.ONLY ?? '');
/** Keeps the best figure of all passes ('missing' stays). */
const record = (name: string, op: string, col: string, value: string) => {
  const r = row(name, op);
  const prev = r.cells[col];
  if (prev == null || Number(value) > Number(prev)) r.cells[col] = value;
};

for (let pass = 0; pass < passes; pass++) {
  for (const threads of threadCounts) {
    const state = await activateWasm(threads);
    for (const variant of ['stock', 'patched'] as const) {
      if (variant === 'patched') registerTrainingKernels();
      else unregisterTrainingKernels();
      const col = `${variant} ${state.threads}t`;
      for (const s of convShapes.filter((c) => only(c.name))) {
        const pad = Math.floor(s.k / 2);
        const ho = convOut(s);
        const x = rand([BATCH, s.h, s.h, s.ci]) as tf.Tensor4D;
        const w = rand([s.k, s.k, s.ci, s.co]) as tf.Tensor4D;
        const dy = rand([BATCH, ho, ho, s.co]) as tf.Tensor4D;
        const attrs = { strides: [s.stride, s.stride], pad, dataFormat: 'NHWC' };
        const flops = convFlops(s);
        const kernel = (name: string, inputs: tf.NamedTensorMap, extra: object) => () =>
          tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as never) as tf.Tensor;
        record(
          s.name,
          'conv2d',
          col,
          tryGflops(flops, () => tf.conv2d(x, w, s.stride, pad)),
        );
        record(
          s.name,
          'backprop input',
          col,
          tryGflops(flops, kernel('Conv2DBackpropInput', { dy, filter: w }, { inputShape: x.shape })),
        );
        record(
          s.name,
          'backprop filter',
          col,
          tryGflops(flops, kernel('Conv2DBackpropFilter', { x, dy }, { filterShape: w.shape })),
        );
        tf.dispose([x, w, dy]);
      }
      for (const s of matMulShapes.filter((m) => only(m.name))) {
        const lead = s.batch != null ? [s.batch] : [];
        const a = rand([...lead, ...(s.transposeA ? [s.k, s.m] : [s.m, s.k])]);
        const b = rand([...lead, ...(s.transposeB ? [s.n, s.k] : [s.k, s.n])]);
        record(
          s.name,
          'matMul',
          col,
          tryGflops(matMulFlops(s), () => tf.matMul(a, b, s.transposeA, s.transposeB)),
        );
        tf.dispose([a, b]);
      }
    }
  }
}

const cols = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
console.log(`| shape (batch ${BATCH}) | op | ${cols.join(' | ')} |`);
console.log(`|---|---|${cols.map(() => '---:').join('|')}|`);
for (const r of rows)
  console.log(`| ${r.name} | ${r.op} | ${cols.map((c) => r.cells[c] ?? '').join(' | ')} |`);
