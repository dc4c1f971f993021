import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tf } from '@selfsup/core';
import type { Method, Optimizer, StepContext, StepResult, TrainingProgress } from '@selfsup/core';
import { applyGradients, disposeLossAndGrads, lossAndGrads, NonFiniteLossError } from '@selfsup/core';
import {
  FAULT_ENV,
  parseFault,
  sizeOf,
  type DoneMessage,
  type FaultInjection,
  type FromWorker,
  type ReadyMessage,
  type ReplicaSpec,
  type StepMessage,
  type ToWorker,
} from './protocol';
import { FIRST_STEP_TIMEOUT_MS, StepTimeout } from './timeouts';

export interface DataParallelOptions {
  /** Ranks in all, rank 0 (this thread) included; >= 2. */
  workers: number;
  /** Fixed per-step limit for a worker's answer; derived from the first step when absent (see timeouts.ts). */
  stepTimeoutMs?: number;
  /** Limit for a worker to load and build its pipeline (default 10 min). */
  startTimeoutMs?: number;
  /** Test hook; SELFSUP_DP_FAULT=kind:rank:step when absent. */
  fault?: FaultInjection;
}

/** Gradients of the whole batch, averaged over the ranks; the caller disposes them. */
export interface ParallelGrads {
  loss: number;
  terms: Record<string, number>;
  grads: Map<string, tf.Tensor>;
}

interface Rank {
  rank: number;
  worker: Worker;
  grads: SharedArrayBuffer;
  /** The answer being waited for. */
  waiting?: { resolve: (m: FromWorker) => void; reject: (e: Error) => void };
  /** Why it can no longer answer (error, exit). */
  dead?: string;
}

/**
 * Data-parallel training over worker_threads, as PyTorch DDP without SyncBN: rank 0 (the
 * caller's thread) owns the model and the optimizer; each step every worker gets rank 0's
 * parameters and buffers through shared memory, computes loss and gradients on its rows of the
 * batch, and rank 0 averages the gradients (weighted by rows, summed in rank order, so results
 * depend only on the seed and the worker count) before its one optimizer step. BatchNorm
 * normalises per shard, and the running statistics kept are rank 0's (DDP broadcast_buffers).
 * Per-sample state the method leaves for its post-step update (MoCo's keys) is gathered in batch
 * order through Method.pendingStepState. A worker that throws, exits or does not answer in time
 * stops training with an error naming it and the step.
 */
export class DataParallel {
  private readonly timeout: StepTimeout;
  private stateBuf = new SharedArrayBuffer(0);
  private viewsBuf = new SharedArrayBuffer(0);
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly ranks: Rank[],
    private readonly method: Method,
    opts: DataParallelOptions,
  ) {
    this.timeout = new StepTimeout(opts.stepTimeoutMs);
  }

  get size(): number {
    return this.ranks.length + 1;
  }

  /**
   * Starts workers-1 threads, each building `spec`'s pipeline, and checks that they built the
   * same model as `method` (rank 0's).
   */
  static async start(spec: ReplicaSpec, method: Method, opts: DataParallelOptions): Promise<DataParallel> {
    const n = opts.workers;
    if (!(Number.isInteger(n) && n >= 2))
      throw new Error(`data parallel: workers must be an integer >= 2, got ${n}`);
    const fault = opts.fault ?? parseFault(process.env[FAULT_ENV]);
    const params = method.trainableParameters();
    const gradFloats = params.reduce((a, p) => a + sizeOf(p.variable.shape), 0);
    const entry = workerEntry();
    const ranks: Rank[] = [];
    for (let rank = 1; rank < n; rank++) {
      const worker = new Worker(entry.file, { workerData: entry.data });
      const r: Rank = { rank, worker, grads: new SharedArrayBuffer(gradFloats * 4) };
      wire(r);
      ranks.push(r);
    }
    const dp = new DataParallel(ranks, method, opts);
    try {
      const ready = await dp.ask(
        (r) => ({ type: 'init', rank: r.rank, spec, grads: r.grads, fault }) as ToWorker,
        opts.startTimeoutMs ?? FIRST_STEP_TIMEOUT_MS,
        'start',
      );
      const want = method.stateEntries().map((e) => `${e.name}[${e.variable.shape}]`);
      const wantParams = params.map((p) => p.name).join();
      ready.forEach((m, i) => {
        const got = (m as ReadyMessage).entries.map((e) => `${e.name}[${e.shape}]`);
        const diff = want.findIndex((w, j) => got[j] !== w);
        if (diff >= 0 || got.length !== want.length) {
          const at = diff >= 0 ? diff : Math.min(got.length, want.length);
          throw new Error(
            `data-parallel worker ${i + 1} built a different model than rank 0: state entry ${at} is ` +
              `${got[at] ?? '(none)'}, rank 0 has ${want[at] ?? '(none)'}`,
          );
        }
        if ((m as ReadyMessage).params.join() !== wantParams) {
          throw new Error(`data-parallel worker ${i + 1} trains other parameters than rank 0`);
        }
      });
    } catch (err) {
      await dp.close();
      throw err;
    }
    return dp;
  }

  /** A Trainer step function: averaged gradients, one optimizer step, the method's post-step update. */
  readonly step = async (
    method: Method,
    optimizer: Optimizer,
    view1: tf.Tensor4D,
    view2: tf.Tensor4D,
    ctx: StepContext & { step?: number },
  ): Promise<StepResult> => {
    const r = await this.lossAndGrads(method, view1, view2, ctx.step ?? 0, ctx.progress);
    try {
      if (!Number.isFinite(r.loss)) throw new NonFiniteLossError(r.loss, r.terms, ctx.step);
      applyGradients(method, optimizer, r.grads, ctx);
      return { loss: r.loss, terms: r.terms };
    } finally {
      for (const g of r.grads.values()) g.dispose();
    }
  };

  /**
   * Loss and gradients of the whole batch, computed shard-wise on every rank and averaged; also
   * hands the method its gathered pending state. Nothing is updated.
   */
  async lossAndGrads(
    method: Method,
    view1: tf.Tensor4D,
    view2: tf.Tensor4D,
    step: number,
    progress?: TrainingProgress,
  ): Promise<ParallelGrads> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('data parallel: used after close()');
    if (method !== this.method) throw new Error('data parallel: started for another method instance');
    const [b, h, w, c] = view1.shape;
    const size = this.size;
    if (b < size) throw new Error(`data parallel: batch of ${b} cannot be split over ${size} workers`);
    // Rows per rank differ by at most one; the larger shards come first.
    const counts = Array.from({ length: size }, (_, r) => Math.floor(b / size) + (r < b % size ? 1 : 0));
    const starts = counts.map((_, r) => counts.slice(0, r).reduce((a, x) => a + x, 0));
    this.publish(view1, view2);
    const t0 = performance.now();
    const answers = this.ask(
      (r) =>
        ({
          type: 'step',
          step,
          progress,
          state: this.stateBuf,
          views: this.viewsBuf,
          batchShape: [b, h, w, c],
          start: starts[r.rank],
          count: counts[r.rank],
          training: method.isTraining,
          extra: method.getExtraState?.(),
        }) satisfies StepMessage,
      this.timeout.ms,
      `step ${step}`,
    );
    // Rank 0's shard runs here while the workers run theirs.
    const own = tf.tidy(() => [
      tf.slice(view1, [0, 0, 0, 0], [counts[0], -1, -1, -1]),
      tf.slice(view2, [0, 0, 0, 0], [counts[0], -1, -1, -1]),
    ]) as [tf.Tensor4D, tf.Tensor4D];
    let mine: ReturnType<typeof lossAndGrads>;
    try {
      mine = lossAndGrads(method, own[0], own[1], progress);
    } catch (err) {
      answers.catch(() => undefined);
      throw err;
    } finally {
      own[0].dispose();
      own[1].dispose();
    }
    try {
      const done = (await answers) as DoneMessage[];
      this.timeout.observe(performance.now() - t0);
      const weights = counts.map((n) => n / b);
      let loss = weights[0] * mine.loss.dataSync()[0];
      const terms: Record<string, number> = {};
      for (const [k, t] of Object.entries(mine.terms)) terms[k] = weights[0] * t.dataSync()[0];
      done.forEach((m, i) => {
        loss += weights[i + 1] * m.loss;
        for (const k of Object.keys(terms)) {
          if (!(k in m.terms)) throw new Error(`data-parallel worker ${i + 1} returned no loss term '${k}'`);
          terms[k] += weights[i + 1] * m.terms[k];
        }
      });
      const grads = this.average(method, mine.grads, done, weights);
      this.gather(method, done);
      return { loss, terms, grads };
    } finally {
      disposeLossAndGrads(mine);
    }
  }

  /** Rank 0's state and the batch into shared memory (the workers read them only during a step). */
  private publish(view1: tf.Tensor4D, view2: tf.Tensor4D): void {
    const entries = this.method.stateEntries();
    const floats = entries.reduce((a, e) => a + sizeOf(e.variable.shape), 0);
    if (this.stateBuf.byteLength !== floats * 4) this.stateBuf = new SharedArrayBuffer(floats * 4);
    const state = new Float32Array(this.stateBuf);
    let off = 0;
    for (const e of entries) {
      if (e.variable.dtype !== 'float32')
        throw new Error(`data parallel: state '${e.name}' is ${e.variable.dtype}, not float32`);
      state.set(e.variable.dataSync() as Float32Array, off);
      off += sizeOf(e.variable.shape);
    }
    const n = view1.size;
    if (this.viewsBuf.byteLength !== 2 * n * 4) this.viewsBuf = new SharedArrayBuffer(2 * n * 4);
    const views = new Float32Array(this.viewsBuf);
    views.set(view1.dataSync() as Float32Array, 0);
    views.set(view2.dataSync() as Float32Array, n);
  }

  /** sum_r w_r g_r per parameter, in rank order (fixed, so deterministic), accumulated in float64. */
  private average(
    method: Method,
    own: Map<string, tf.Tensor>,
    done: DoneMessage[],
    weights: number[],
  ): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    const shared = this.ranks.map((r) => new Float32Array(r.grads));
    let off = 0;
    method.trainableParameters().forEach((p, j) => {
      const n = sizeOf(p.variable.shape);
      const g0 = own.get(p.name);
      const reached = g0 !== undefined || done.some((m) => m.present[j]);
      if (reached) {
        // A shard the loss did not reach contributes zeros (PyTorch: an unused parameter's grad is 0 in DDP).
        const acc = new Float64Array(n);
        if (g0) {
          const d = g0.dataSync();
          for (let i = 0; i < n; i++) acc[i] = weights[0] * d[i];
        }
        done.forEach((m, r) => {
          if (!m.present[j]) return;
          const d = shared[r].subarray(off, off + n);
          const wr = weights[r + 1];
          for (let i = 0; i < n; i++) acc[i] += wr * d[i];
        });
        out.set(p.name, tf.tensor(Float32Array.from(acc), p.variable.shape));
      }
      off += n;
    });
    return out;
  }

  /** Concatenates every rank's pending step state along axis 0 (rank 0's rows first). */
  private gather(method: Method, done: DoneMessage[]): void {
    const mine = method.pendingStepState?.();
    if (!mine) return;
    if (!method.setPendingStepState) {
      throw new Error(`method '${method.type}' has pendingStepState() but no setPendingStepState()`);
    }
    const gathered: Record<string, tf.Tensor> = {};
    try {
      for (const [k, t] of Object.entries(mine)) {
        const parts: Float32Array[] = [t.dataSync() as Float32Array];
        let rows = t.shape[0];
        done.forEach((m, i) => {
          const p = m.pending?.[k];
          if (!p || p.shape.slice(1).join() !== t.shape.slice(1).join()) {
            throw new Error(
              `data-parallel worker ${i + 1}: pending step state '${k}' is ` +
                `${p ? `[${p.shape}]` : 'missing'}, rank 0 has [?, ${t.shape.slice(1)}]`,
            );
          }
          parts.push(p.data);
          rows += p.shape[0];
        });
        const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        gathered[k] = tf.tensor(all, [rows, ...t.shape.slice(1)]);
      }
      method.setPendingStepState(gathered);
    } finally {
      for (const t of Object.values(gathered)) t.dispose();
    }
  }

  /**
   * Sends each worker its message and waits for every answer; a worker that fails or stays
   * silent past `ms` makes the whole call fail (and the runner unusable) with its rank named.
   */
  private ask(msg: (r: Rank) => ToWorker, ms: number, what: string): Promise<FromWorker[]> {
    const size = this.size;
    const replies = this.ranks.map(
      (r) =>
        new Promise<FromWorker>((resolve, reject) => {
          if (r.dead) {
            reject(new Error(`data-parallel worker ${r.rank} of ${size} ${r.dead} (before ${what})`));
            return;
          }
          r.waiting = {
            resolve,
            reject: (e) =>
              reject(
                new Error(`data-parallel worker ${r.rank} of ${size} failed at ${what}: ${e.message}`, {
                  cause: e,
                }),
              ),
          };
          r.worker.postMessage(msg(r));
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const silent = this.ranks.filter((r) => r.waiting).map((r) => r.rank);
        reject(
          new Error(
            `data-parallel worker${silent.length > 1 ? 's' : ''} ${silent.join(', ')} of ${size} did not answer ` +
              `${what} within ${(ms / 1000).toFixed(1)} s; stopped (set ${'SELFSUP_STEP_TIMEOUT_S'} to allow longer)`,
          ),
        );
      }, ms);
    });
    return Promise.race([Promise.all(replies), timedOut])
      .catch(async (err: Error) => {
        this.failure = err;
        await this.close();
        throw err;
      })
      .finally(() => clearTimeout(timer));
  }

  /** Stops every worker; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.ranks.map(async (r) => {
        r.dead ??= 'was closed';
        r.waiting = undefined;
        await r.worker.terminate();
      }),
    );
  }
}

/** Routes a worker's messages and deaths to whoever waits for its answer. */
function wire(r: Rank): void {
  const fail = (why: string, err: Error) => {
    if (r.dead) return;
    r.dead = why;
    const w = r.waiting;
    r.waiting = undefined;
    w?.reject(err);
  };
  r.worker.on('message', (m: FromWorker) => {
    const w = r.waiting;
    if (m.type === 'error') {
      const err = new Error(m.message);
      if (m.stack) err.stack = m.stack;
      r.waiting = undefined;
      w?.reject(err);
      return;
    }
    r.waiting = undefined;
    w?.resolve(m);
  });
  r.worker.on('error', (err) => fail(`threw ${err.message}`, err));
  r.worker.on('exit', (code) => fail(`exited with code ${code}`, new Error(`exited with code ${code}`)));
}

/**
 * The worker script: dist/parallel-worker.js in the built package (this module may sit in
 * dist/ or dist/chunks/); from the TypeScript sources (vitest, tsx) a shim that loads worker.ts.
 */
function workerEntry(): { file: URL; data: unknown } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      file: new URL('./ts-worker.mjs', here),
      data: { entry: new URL('./worker.ts', here).href },
    };
  }
  for (const rel of ['./parallel-worker.js', '../parallel-worker.js']) {
    const url = new URL(rel, here);
    if (existsSync(fileURLToPath(url))) return { file: url, data: {} };
  }
  throw new Error(
    `data parallel: the worker script parallel-worker.js is missing next to ${fileURLToPath(here)}`,
  );
}
