/**
 * Entry of a data-parallel worker thread (rank >= 1): builds the same pipeline as rank 0 on its
 * own backend, then per step loads rank 0's state, computes loss and gradients on its rows of
 * the batch and writes the gradients into shared memory. It never steps an optimizer.
 */
import 'reflect-metadata';
import { parentPort } from 'node:worker_threads';
import { tf } from '@selfsup/core';
import { createPipeline, type Pipeline } from '@selfsup/core';
import { disposeLossAndGrads, lossAndGrads } from '@selfsup/core';
import { prepareRuntime } from '../runtime/runtime';
import {
  sizeOf,
  type DoneMessage,
  type FromWorker,
  type InitMessage,
  type PendingTensor,
  type StepMessage,
  type ToWorker,
} from './protocol';

const port = parentPort;
if (!port) throw new Error('selfsup parallel worker: must run in a worker thread');

let pipeline: Pipeline | undefined;
let init: InitMessage | undefined;
const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    init = m;
    start(m).catch((err: Error) => post({ type: 'error', message: err.message, stack: err.stack }));
  } else {
    try {
      post(step(m));
    } catch (err) {
      const e = err as Error;
      post({ type: 'error', step: m.step, message: e.message, stack: e.stack });
    }
  }
});

async function start(m: InitMessage): Promise<void> {
  const runtime = await prepareRuntime({
    backend: m.spec.backend,
    plugins: m.spec.plugins,
    threads: m.spec.threads,
    log: () => undefined, // rank 0 already said which backend runs
  });
  pipeline = createPipeline(m.spec.config as Parameters<typeof createPipeline>[0], {
    plugins: runtime.plugins,
    source: m.spec.source,
  });
  const method = pipeline.method;
  post({
    type: 'ready',
    entries: method.stateEntries().map((e) => ({ name: e.name, shape: [...e.variable.shape] })),
    params: method.trainableParameters().map((p) => p.name),
  });
}

function injectFault(step: number): void {
  const f = init!.fault;
  if (!f || f.rank !== init!.rank || f.step !== step) return;
  if (f.kind === 'throw') throw new Error(`injected fault at step ${step}`);
  if (f.kind === 'exit') process.exit(3);
  // A busy loop, like a kernel that never returns (terminate() still stops it). The test reads
  // shared memory so that bundlers cannot drop the loop as side-effect free.
  const never = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(never, 0) === 0);
}

function step(m: StepMessage): DoneMessage {
  if (!pipeline || !init) throw new Error('step before the worker was initialised');
  injectFault(m.step);
  const method = pipeline.method;
  // Rank 0's parameters and buffers (BN running stats too, as DDP's broadcast_buffers).
  // Copies (slice) of the shared memory: a backend may keep a typed array it is given.
  const state = new Float32Array(m.state);
  let off = 0;
  for (const e of method.stateEntries()) {
    const n = sizeOf(e.variable.shape);
    tf.tidy(() => e.variable.assign(tf.tensor(state.slice(off, off + n), e.variable.shape)));
    off += n;
  }
  if (m.extra !== undefined) method.setExtraState?.(m.extra);
  method.train(m.training);
  const [b, h, w, c] = m.batchShape;
  const row = h * w * c;
  const views = new Float32Array(m.views);
  const shard: [number, number, number, number] = [m.count, h, w, c];
  const v1 = tf.tensor4d(views.slice(m.start * row, (m.start + m.count) * row), shard);
  const v2 = tf.tensor4d(views.slice((b + m.start) * row, (b + m.start + m.count) * row), shard);
  try {
    const r = lossAndGrads(method, v1, v2, m.progress);
    try {
      const grads = new Float32Array(init.grads);
      const present: boolean[] = [];
      let g = 0;
      for (const p of method.trainableParameters()) {
        const t = r.grads.get(p.name);
        present.push(t !== undefined);
        if (t) grads.set(t.dataSync() as Float32Array, g);
        g += sizeOf(p.variable.shape);
      }
      const terms: Record<string, number> = {};
      for (const [k, t] of Object.entries(r.terms)) terms[k] = t.dataSync()[0];
      let pending: Record<string, PendingTensor> | undefined;
      const ps = method.pendingStepState?.();
      if (ps) {
        pending = {};
        for (const [k, t] of Object.entries(ps)) {
          pending[k] = { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
        }
      }
      return { type: 'done', step: m.step, loss: r.loss.dataSync()[0], terms, present, pending };
    } finally {
      disposeLossAndGrads(r);
    }
  } finally {
    v1.dispose();
    v2.dispose();
  }
}
