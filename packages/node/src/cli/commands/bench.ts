import { tf } from '@selfsup/core';
import { createPipeline } from '@selfsup/core';
import type { Plugin, SelectedBackend } from '@selfsup/core';
import { createStepRunner, threadsPerRank, type StepRunner } from '../../parallel/runner';
import { SeededRng, BENCH_MODEL, benchPresetConfig, type SelfsupConfigInput } from '@selfsup/core';
import type { DependencyContainer } from 'tsyringe';
import { prepareRuntime } from '../../runtime/runtime';
import { SELFSUP_VERSION } from '../version';

/** The config of `--method NAME`: a bench preset some plugin registered (see @selfsup/core's bench/presets). */
export function benchConfig(
  container: DependencyContainer,
  method: string,
  width: number,
): SelfsupConfigInput {
  return benchPresetConfig(container, method, { width });
}

export interface BenchOptions {
  method: string;
  backend?: string;
  threads?: number;
  /** Data-parallel ranks (worker_threads, this thread included); see train.workers. */
  workers?: number;
  width: number;
  res: number;
  batch: number;
  steps: number;
  json?: boolean;
  plugin?: string[];
}

export async function benchCommand(opts: BenchOptions): Promise<number> {
  const workers = opts.workers ?? 1;
  const threads = threadsPerRank(opts.threads, workers);
  const runtime = await prepareRuntime({ backend: opts.backend, plugins: opts.plugin, threads });
  return runBench(opts, runtime);
}

/** The two views every timed step trains on: standard-normal [batch, res, res, 3] images, seed 0. */
export function benchViews(batch: number, res: number): readonly [tf.Tensor4D, tf.Tensor4D] {
  const rng = new SeededRng(0);
  const n = batch * res * res * 3;
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.normal();
    b[i] = rng.normal();
  }
  const shape: [number, number, number, number] = [batch, res, res, 3];
  return [tf.tensor4d(a, shape), tf.tensor4d(b, shape)];
}

/**
 * The benchmark on a backend already chosen and activated, with the plugins given: what
 * `selfsup bench` runs after loading plugins by name, and what a bundle that carries its
 * plugins (bench/gpu) calls directly.
 */
export async function runBench(
  opts: BenchOptions,
  runtime: { plugins: Plugin[]; registry: DependencyContainer; backend: SelectedBackend },
): Promise<number> {
  const workers = opts.workers ?? 1;
  const threads = threadsPerRank(opts.threads, workers);
  const config = benchConfig(runtime.registry, opts.method, opts.width);
  const pipeline = createPipeline(config, { plugins: runtime.plugins });
  let runner: StepRunner;
  try {
    runner = await createStepRunner({
      workers,
      method: pipeline.method,
      spec: { config, plugins: opts.plugin ?? [], backend: runtime.backend.name, threads },
    });
  } catch (err) {
    pipeline.dispose();
    throw err;
  }
  const [v1, v2] = benchViews(opts.batch, opts.res);
  const fence = pipeline.method.trainableParameters()[0].variable;
  const times: number[] = [];
  const cpu: number[] = [];
  try {
    for (let i = 0; i <= opts.steps; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await runner.step(pipeline.method, pipeline.optimizer, v1, v2, {
        lr: pipeline.baseLr,
        momentum: BENCH_MODEL.ema,
        step: i,
      });
      // On a GPU backend the step returns once its loss is read, with the optimizer and EMA
      // updates still queued; a read waits for them (the queue runs in order), as
      // torch_step.py's cuda synchronize does. On the other backends it is already done.
      await fence.data();
      const dt = (performance.now() - t0) / 1000;
      const dc = process.cpuUsage(c0);
      if (i > 0) {
        // step 0 is the warm-up
        times.push(dt);
        cpu.push((dc.user + dc.system) / 1e6);
      }
      if (!opts.json) process.stderr.write(`step ${i}${i === 0 ? ' (warm-up)' : ''}: ${dt.toFixed(3)} s\n`);
    }
  } finally {
    v1.dispose();
    v2.dispose();
    await runner.close();
    pipeline.dispose();
  }
  // The adapter a GPU backend runs on (e.g. webgpu's), so a result names its machine.
  const device = (await runtime.backend.provider.probe().catch(() => undefined))?.device;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const med = median(times);
  const result = {
    impl: `selfsup-${SELFSUP_VERSION}-tfjs-${tf.version_core}-${runtime.backend.name}`,
    method: opts.method,
    width: opts.width,
    res: opts.res,
    batch: opts.batch,
    threads: backendThreads(runtime.backend.provider) ?? threads ?? 1,
    workers,
    step_s: Number(med.toFixed(4)),
    imgs_per_s: Number((opts.batch / med).toFixed(2)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    // CPU seconds per step over all threads: the work done, which a busy machine does not inflate
    // the way it inflates step_s (spin-waiting pool threads count too).
    cpu_s: Number(median(cpu).toFixed(4)),
    ...(device !== undefined && { device }),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

/** Threads the backend really runs (a wasm provider reports its module's), when it says. */
function backendThreads(provider: unknown): number | undefined {
  const p = provider as { state?: () => { threads?: number } | undefined };
  return typeof p.state === 'function' ? p.state()?.threads : undefined;
}
