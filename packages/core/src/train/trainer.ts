import { tf } from '../tf';
import type { Dataset, Image, LrSchedule, Method, Optimizer, StepResult, ViewPipeline } from '../contracts';
import type { LoadedCheckpoint } from '../io/checkpoint';
import { exportTrainingTensorsAsync, importTrainingTensors } from '../io/trainer-state';
import type { TensorData } from '../io/safetensors';
import { warmupCosineLr } from '../optim/schedules';
import { EpochSampler, makeBatch, type EpochSamplerState } from '../data/batch';
import { SeededRng } from '../util/random';
import { NonFiniteLossError, trainStepAsync, type StepFn } from './step';
import { mixSeed } from './seeds';
import { settingsDiff } from '../util/settings-diff';
import { DEFAULT_HOOK_PRIORITY, type TrainerHook } from './hook';
import { pushHistory, type EpochMetrics, type StepInfo, type TrainerMeta, type TrainSummary } from './state';

export interface TrainerOptions {
  method: Method;
  optimizer: Optimizer;
  dataset: Dataset;
  views: ViewPipeline;
  batchSize: number;
  epochs: number;
  /** Stop after this many steps in all (schedules span min(epochs * stepsPerEpoch, maxSteps)). */
  maxSteps?: number;
  seed: number;
  /** Per-step learning rate: a schedule, or warm-up + cosine from a peak lr (METHODS.md). */
  lr: LrSchedule | { baseLr: number; warmupEpochs: number };
  /** Drop the last incomplete batch of an epoch (default true). */
  dropLast?: boolean;
  /** Prepare the next batch while the current step runs (default true). */
  prefetch?: boolean;
  /** Checkpoints, logging, metrics, plots, monitors: everything beyond the loop itself. */
  hooks?: TrainerHook[];
  /** Stored in checkpoints; resuming under a different hash is refused. */
  configHash?: string;
  /** The settings the hash covers, stored in checkpoints so a refused resume names what differs. */
  configSettings?: Record<string, unknown>;
  /** Where hooks' log lines go (default console.log). */
  log?: (line: string) => void;
  /** Runs one optimizer step on a batch (default trainStepAsync; a data-parallel runner's step for workers > 1). */
  stepFn?: StepFn;
  /** Shorthand for a hook with only afterStep; a throw stops the run (the last checkpoint stays). */
  onStep?: (info: StepInfo) => void | Promise<void>;
}

interface PreparedBatch {
  view1: Float32Array;
  view2: Float32Array;
  shape: [number, number, number, number];
}

/**
 * The training loop: seeded shuffling, two augmented views per image, one optimizer step per
 * batch with per-step lr and EMA momentum, and the hooks at fixed points. It knows nothing about
 * which method it drives, nor where checkpoints, logs or plots go.
 */
export class Trainer {
  /** Advanced once per prepared batch, in step order (so it runs ahead of the steps by the prefetch). */
  readonly sampler: EpochSampler;
  readonly totalSteps: number;
  readonly hooks: TrainerHook[];
  readonly log: (line: string) => void;
  /** The loop's own state; restored by the checkpoint hook, saved with every checkpoint. */
  meta: TrainerMeta;
  /** Path of the newest checkpoint written or resumed from (set by the checkpoint hook). */
  lastCheckpoint: string | undefined;
  private readonly lrAt: (step: number) => number;
  private readonly rng: SeededRng;
  private stopRequest: string | undefined;

  constructor(readonly opts: TrainerOptions) {
    const { dataset, batchSize, epochs } = opts;
    if (!(Number.isInteger(epochs) && epochs >= 1))
      throw new Error(`trainer: epochs must be an integer >= 1, got ${epochs}`);
    if (opts.maxSteps !== undefined && !(Number.isInteger(opts.maxSteps) && opts.maxSteps >= 1)) {
      throw new Error(`trainer: maxSteps must be an integer >= 1, got ${opts.maxSteps}`);
    }
    this.sampler = new EpochSampler(dataset.length, batchSize, opts.seed, opts.dropLast ?? true);
    const nb = this.sampler.batchesPerEpoch;
    this.totalSteps = Math.min(epochs * nb, opts.maxSteps ?? Infinity);
    const schedule =
      typeof opts.lr === 'function'
        ? opts.lr
        : warmupCosineLr({ baseLr: opts.lr.baseLr, warmupSteps: Math.round(opts.lr.warmupEpochs * nb) });
    this.lrAt = (step) => schedule(step, this.totalSteps);
    this.log = opts.log ?? ((line) => console.log(line));
    this.rng = new SeededRng(mixSeed(opts.seed, 0x7a11));
    const hooks = [...(opts.hooks ?? [])];
    if (opts.onStep) hooks.push({ name: 'onStep', afterStep: (_t, s) => opts.onStep!(s) });
    this.hooks = hooks.sort(
      (a, b) => (a.priority ?? DEFAULT_HOOK_PRIORITY) - (b.priority ?? DEFAULT_HOOK_PRIORITY),
    );
    this.meta = this.freshMeta();
  }

  get stepsPerEpoch(): number {
    return this.sampler.batchesPerEpoch;
  }

  /** The target network's EMA momentum at a step; null for a method without a target network. */
  emaAt(step: number): number | null {
    return this.opts.method.momentumAt?.(step, this.totalSteps) ?? null;
  }

  /** The first hook of this class, e.g. `trainer.hook(CheckpointHook)`. */
  hook<H extends TrainerHook>(kind: abstract new (...args: never[]) => H): H | undefined {
    return this.hooks.find((h): h is H => h instanceof kind);
  }

  /**
   * Ask the loop to stop after the step in flight (a signal handler calls this); the run then
   * saves a checkpoint through the hooks and `run()` rejects with a StopRequested error.
   */
  requestStop(reason: string): void {
    this.stopRequest ??= reason;
  }

  /** A stop was requested: hooks that save (checkpoints) save at the end of this step. */
  get stopping(): boolean {
    return this.stopRequest !== undefined;
  }

  /** Sampler position after `step` steps. */
  samplerStateAt(step: number): EpochSamplerState {
    const nb = this.stepsPerEpoch;
    return {
      epoch: Math.floor(step / nb),
      position: Math.min((step % nb) * this.opts.batchSize, this.opts.dataset.length),
    };
  }

  /**
   * Two views of every image of the sampler's next batch, which must be the batch of `step`;
   * each image's randomness comes from (seed, epoch, dataset index), so prefetching changes nothing.
   */
  async prepareBatch(step: number): Promise<PreparedBatch> {
    const nb = this.stepsPerEpoch;
    const { epoch, batch, indices } = this.sampler.next();
    if (epoch !== Math.floor(step / nb) || batch !== step % nb) {
      throw new Error(
        `trainer: sampler is at epoch ${epoch} batch ${batch}, expected the batch of step ${step}`,
      );
    }
    const samples = await Promise.all(Array.from(indices, (i) => this.opts.dataset.get(i)));
    const v1: Image[] = [];
    const v2: Image[] = [];
    samples.forEach((s, j) => {
      const [a, c] = this.opts.views.views(
        s.image,
        new SeededRng(mixSeed(this.opts.seed, epoch, indices[j])),
      );
      v1.push(a);
      v2.push(c);
    });
    try {
      const s1 = makeBatch(v1);
      const s2 = makeBatch(v2);
      if (s1.shape.join() !== s2.shape.join())
        throw new Error(`view 1 batch is [${s1.shape}], view 2 [${s2.shape}]`);
      return { view1: s1.data, view2: s2.data, shape: s1.shape };
    } catch (e) {
      throw new Error(
        `epoch ${epoch + 1} batch ${batch + 1} of ${this.opts.dataset.name}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  async run(): Promise<TrainSummary> {
    const o = this.opts;
    const nb = this.stepsPerEpoch;
    try {
      for (const h of this.hooks) await h.restore?.(this);
      const resumedFrom = this.meta.step;
      for (const h of this.hooks) await h.beforeRun?.(this);

      let step = this.meta.step;
      let epochStart = performance.now();
      let epochStepsHere = 0;
      let lastLr = NaN;
      let lastEma: number | null = null;
      const prefetch = o.prefetch ?? true;
      this.sampler.setState(this.samplerStateAt(step));
      const prepare = (s: number) => {
        const p = this.prepareBatch(s);
        // A prefetched batch whose step never comes (error, stop) must not surface as unhandled.
        p.catch(() => undefined);
        return p;
      };
      let next = step < this.totalSteps ? prepare(step) : undefined;
      while (step < this.totalSteps) {
        const epoch = Math.floor(step / nb);
        const b = step % nb;
        const batch = await next!;
        next = undefined;
        if (prefetch && step + 1 < this.totalSteps) next = prepare(step + 1);
        const lr = this.lrAt(step);
        const ema = this.emaAt(step);
        const result = await this.step(batch, lr, ema, step, epoch, b);
        step++;
        epochStepsHere++;
        lastLr = lr;
        lastEma = ema;
        const acc = this.meta.epochAcc;
        acc.lossSum += result.loss;
        acc.steps++;
        for (const [k, v] of Object.entries(result.terms)) acc.termSums[k] = (acc.termSums[k] ?? 0) + v;
        pushHistory(this.meta.history, [step, result.loss, lr, ema]);
        this.meta.step = step;
        if (!prefetch && step < this.totalSteps) next = prepare(step);

        const secs = (performance.now() - epochStart) / 1000;
        const imgsPerS = secs > 0 ? (epochStepsHere * o.batchSize) / secs : 0;
        const info: StepInfo = { ...result, step, epoch: epoch + 1, batch: b + 1, lr, ema, imgsPerS };
        for (const h of this.hooks) await h.afterStep?.(this, info);

        const epochDone = step % nb === 0;
        const runDone = step === this.totalSteps;
        if (epochDone || runDone) {
          const m = this.epochMetrics({
            epoch: epochDone ? step / nb : epoch + 1,
            step,
            lr: lastLr,
            ema: lastEma,
            seconds: secs,
            imgsPerS,
            partial: !epochDone,
          });
          this.meta.metrics.push(m);
          // Reset before the hooks: a checkpoint written at an epoch's end starts the next epoch
          // clean. A partial epoch keeps its sums: a resumed, longer run completes that epoch.
          if (epochDone) this.meta.epochAcc = { lossSum: 0, termSums: {}, steps: 0 };
          for (const h of this.hooks) await h.afterEpoch?.(this, m);
          epochStart = performance.now();
          epochStepsHere = 0;
        }
        if (this.stopRequest !== undefined && step < this.totalSteps)
          throw new StopRequested(this.stopRequest, step);
      }
      const summary: TrainSummary = {
        steps: step,
        epochs: step / nb,
        metrics: this.meta.metrics,
        lastCheckpoint: this.lastCheckpoint,
        resumedFrom,
      };
      for (const h of this.hooks) await h.afterRun?.(this, summary);
      summary.lastCheckpoint = this.lastCheckpoint;
      return summary;
    } finally {
      for (const h of this.hooks) {
        try {
          await h.close?.(this);
        } catch (e) {
          this.log(`warning: hook ${h.name} failed to close: ${(e as Error).message}`);
        }
      }
    }
  }

  private async step(
    batch: PreparedBatch,
    lr: number,
    ema: number | null,
    step: number,
    epoch: number,
    b: number,
  ) {
    const v1 = tf.tensor4d(batch.view1, batch.shape);
    const v2 = tf.tensor4d(batch.view2, batch.shape);
    try {
      return (await (this.opts.stepFn ?? trainStepAsync)(this.opts.method, this.opts.optimizer, v1, v2, {
        lr,
        momentum: ema ?? undefined,
        progress: { step, totalSteps: this.totalSteps, stepsPerEpoch: this.stepsPerEpoch },
        step: step + 1,
      })) as StepResult;
    } catch (e) {
      if (e instanceof NonFiniteLossError) {
        const last = this.lastCheckpoint ?? 'none (no checkpoint was written)';
        throw new Error(
          `training stopped: loss is ${e.loss} at step ${step + 1} (epoch ${epoch + 1}, batch ${b + 1}/${this.stepsPerEpoch}); ` +
            `the step was not applied and nothing was saved; last good checkpoint: ${last}`,
          { cause: e },
        );
      }
      throw e;
    } finally {
      v1.dispose();
      v2.dispose();
    }
  }

  /** Epoch-end metrics row; hooks (the kNN monitor) add their numbers to it. */
  private epochMetrics(e: {
    epoch: number;
    step: number;
    lr: number;
    ema: number | null;
    seconds: number;
    imgsPerS: number;
    partial: boolean;
  }): EpochMetrics {
    const acc = this.meta.epochAcc;
    const terms: Record<string, number> = {};
    for (const [k, v] of Object.entries(acc.termSums)) terms[k] = v / acc.steps;
    const m: EpochMetrics = {
      epoch: e.epoch,
      step: e.step,
      loss: acc.lossSum / acc.steps,
      terms,
      lr: e.lr,
      ema: e.ema,
      imgs_per_s: e.imgsPerS,
      seconds: e.seconds,
    };
    if (e.partial) m.partial = true;
    return m;
  }

  /** Everything a checkpoint of the current step holds: tensors (model + optimizer) and meta. */
  async snapshot(): Promise<{ tensors: Map<string, TensorData>; meta: TrainerMeta }> {
    const o = this.opts;
    const step = this.meta.step;
    // Every read asynchronous and in flight at once: the only way on webgpu, no slower elsewhere.
    const { tensors, optimizerTorchLayout } = await exportTrainingTensorsAsync(o.method, o.optimizer);
    const meta: TrainerMeta = {
      ...this.meta,
      step,
      epoch: Math.floor(step / this.stepsPerEpoch),
      sampler: this.samplerStateAt(step),
      rng: this.rng.getState(),
      optimizerTorchLayout,
      methodExtra: o.method.getExtraState?.(),
    };
    return { tensors, meta };
  }

  /**
   * Why the checkpoint cannot be resumed by this trainer (another run's, another dataset, ...),
   * or undefined if it can. Changes nothing, so a caller can refuse before it writes anything.
   */
  resumeProblem(ck: LoadedCheckpoint<TrainerMeta>): string | undefined {
    const o = this.opts;
    const m = ck.meta;
    const mismatch = (what: string, saved: unknown, now: unknown) =>
      `cannot resume from ${ck.path}: it was written with ${what} ${String(saved)}, this run has ${String(now)}`;
    if (m.format !== 'selfsup-trainer-v1') return mismatch('format', m.format, 'selfsup-trainer-v1');
    const config = configMismatch(m, o);
    if (config) return `cannot resume from ${ck.path}: it was written with ${config}`;
    if (m.batchSize !== o.batchSize) return mismatch('batch size', m.batchSize, o.batchSize);
    if (m.datasetLength !== o.dataset.length)
      return mismatch('dataset length', m.datasetLength, o.dataset.length);
    if (m.stepsPerEpoch !== this.stepsPerEpoch)
      return mismatch('steps per epoch', m.stepsPerEpoch, this.stepsPerEpoch);
    if (m.seed !== o.seed) return mismatch('seed', m.seed, o.seed);
    if (m.methodType !== o.method.type) return mismatch('method', m.methodType, o.method.type);
    const at = this.samplerStateAt(ck.step);
    if (m.sampler.epoch !== at.epoch || m.sampler.position !== at.position) {
      return mismatch('sampler state', JSON.stringify(m.sampler), JSON.stringify(at));
    }
    return undefined;
  }

  /** Restores a checkpoint written by `snapshot()`; refuses one of another run with the reason. */
  restore(ck: LoadedCheckpoint<TrainerMeta>): void {
    const o = this.opts;
    const m = ck.meta;
    const problem = this.resumeProblem(ck);
    if (problem) throw new Error(problem);
    if (m.totalSteps !== this.totalSteps) {
      this.log(
        `resume: total steps changed from ${m.totalSteps} to ${this.totalSteps}; schedules follow the new length`,
      );
    }
    importTrainingTensors(o.method, o.optimizer, ck.tensors, m.optimizerTorchLayout, ck.path);
    if (m.methodExtra !== undefined) o.method.setExtraState?.(m.methodExtra);
    this.rng.setState(m.rng);
    this.lastCheckpoint = ck.path;
    // A partial last epoch (the previous run hit maxSteps) is re-measured when the epoch completes.
    const metrics = m.metrics.filter((x) => !x.partial);
    this.log(`resumed from ${ck.path} at step ${ck.step} (epoch ${m.epoch})`);
    this.meta = {
      ...m,
      step: ck.step,
      configHash: o.configHash,
      configSettings: o.configSettings,
      totalSteps: this.totalSteps,
      metrics,
    };
  }

  private freshMeta(): TrainerMeta {
    const o = this.opts;
    return {
      format: 'selfsup-trainer-v1',
      step: 0,
      epoch: 0,
      sampler: { epoch: 0, position: 0 },
      rng: this.rng.getState(),
      seed: o.seed,
      configHash: o.configHash,
      configSettings: o.configSettings,
      batchSize: o.batchSize,
      datasetLength: o.dataset.length,
      stepsPerEpoch: this.stepsPerEpoch,
      totalSteps: this.totalSteps,
      methodType: o.method.type,
      optimizerType: o.optimizer.type,
      optimizerTorchLayout: [],
      epochAcc: { lossSum: 0, termSums: {}, steps: 0 },
      metrics: [],
      history: { stride: 1, points: [] },
    };
  }
}

/**
 * `config hash A, this run has B` and, when both sides recorded the settings the hash covers,
 * which of them differ (`: optimizer.lr (0.06 -> 0.1)`); undefined when the hashes agree.
 */
export function configMismatch(
  saved: { configHash?: string; configSettings?: Record<string, unknown> },
  now: { configHash?: string; configSettings?: Record<string, unknown> },
): string | undefined {
  if (saved.configHash === now.configHash) return undefined;
  const hashes = `config hash ${String(saved.configHash)}, this run has ${String(now.configHash)}`;
  if (!saved.configSettings || !now.configSettings)
    return `${hashes} (the checkpoint does not record which settings those were)`;
  const changed = settingsDiff(saved.configSettings, now.configSettings);
  return changed.length > 0 ? `${hashes}; these settings differ: ${changed.join(', ')}` : hashes;
}

/** run() ended early because requestStop() was called; the hooks have saved what they save. */
export class StopRequested extends Error {
  constructor(
    readonly reason: string,
    readonly step: number,
  ) {
    super(`training stopped at step ${step}: ${reason}`);
    this.name = 'StopRequested';
  }
}
