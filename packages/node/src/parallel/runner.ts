import type { Method } from '@selfsup/core';
import { trainStepAsync, type StepFn } from '@selfsup/core';
import { DataParallel } from './data-parallel';
import type { ReplicaSpec } from './protocol';
import { StepTimeout } from './timeouts';
import { startWatchdog, type Watchdog } from './watchdog';

export interface StepRunner {
  /** Hand to Trainer as stepFn (or call per batch). */
  readonly step: StepFn;
  /** Data-parallel ranks (1: this thread only). */
  readonly workers: number;
  close(): Promise<void>;
}

export interface StepRunnerOptions {
  /** Data-parallel ranks, this thread included (config train.workers / --workers). */
  workers: number;
  /** How workers rebuild rank 0's pipeline; needed when workers > 1. */
  spec?: ReplicaSpec;
  method: Method;
  /** Fixed step limit; derived from the first step when absent (timeouts.ts). */
  stepTimeoutMs?: number;
  /** Watch the main thread from another thread (default true): see watchdog.ts. */
  watchdog?: boolean;
}

/**
 * The step function a CLI run uses: trainStepAsync, or data-parallel steps for workers > 1, with a
 * watchdog that ends the process if a step blocks the main thread (e.g. inside the threaded
 * wasm build) past its limit. The watchdog's limit is twice the workers' so that a stuck worker
 * is reported by the data-parallel runner's own, clearer error first.
 */
export async function createStepRunner(opts: StepRunnerOptions): Promise<StepRunner> {
  const { workers } = opts;
  if (!(Number.isInteger(workers) && workers >= 1)) {
    throw new Error(`workers must be an integer >= 1, got ${workers}`);
  }
  let dp: DataParallel | undefined;
  if (workers > 1) {
    if (!opts.spec) throw new Error('data parallel: workers > 1 needs the replica spec');
    if (opts.spec.backend === 'webgpu') {
      // Ranks exchange gradients through synchronous reads, and would share one GPU anyway.
      throw new Error(
        'data parallel (workers > 1) runs on the cpu, wasm and node backends, not webgpu: use 1 worker',
      );
    }
    dp = await DataParallel.start(opts.spec, opts.method, { workers, stepTimeoutMs: opts.stepTimeoutMs });
  }
  const timeout = new StepTimeout(opts.stepTimeoutMs);
  const dog: Watchdog | undefined =
    (opts.watchdog ?? true) ? startWatchdog({ timeoutMs: 2 * timeout.ms, label: 'training' }) : undefined;
  const inner: StepFn = dp ? dp.step : trainStepAsync;
  const step: StepFn = async (method, optimizer, v1, v2, ctx) => {
    const t0 = performance.now();
    dog?.begin(ctx.step ?? 0);
    try {
      return await inner(method, optimizer, v1, v2, ctx);
    } finally {
      dog?.end();
      timeout.observe(performance.now() - t0);
      dog?.setTimeout(2 * timeout.ms);
    }
  };
  return {
    step,
    workers,
    async close() {
      dog?.stop();
      await dp?.close();
    },
  };
}

/**
 * Backend threads per rank: as asked, else one per rank when several ranks share the cores
 * (measured in bench/PARALLEL.md), else the backend's own default.
 */
export function threadsPerRank(threads: number | undefined, workers: number): number | undefined {
  if (threads !== undefined) return threads;
  return workers > 1 ? 1 : undefined;
}
