import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { tf } from '../tf';
import type { Dataset, Image, LrSchedule, Method, Optimizer, StepResult, ViewPipeline } from '../contracts';
import { Checkpointer, exportStateDictAsync, importStateDict, type TensorData } from '../io';
import { fromTorchData, toTorchData, torchShapeOf } from '../io';
import { emaMomentum, warmupCosineLr } from '../optim';
import { EpochSampler, makeBatch, type EpochSamplerState } from '../data';
import type { StateEntry } from '../nn/module';
import { SeededRng } from '../util/random';
import { extractMemoryAndQuery } from '../eval/features';
import { knnAccuracyAsync } from '../eval/knn';
import { NonFiniteLossError, trainStepAsync, type StepFn } from './step';
import { mixSeed } from './seeds';
import { writeLinePlot, type PlotPoint } from './plots';

/** One line of metrics.jsonl: the state at the end of an epoch. */
export interface EpochMetrics {
  /** Epochs completed (1 for the first). */
  epoch: number;
  /** Optimizer steps done so far. */
  step: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Mean of each loss term over the epoch. */
  terms: Record<string, number>;
  /** Learning rate and EMA momentum of the epoch's last step. */
  lr: number;
  ema: number;
  /** Training throughput of the epoch (images per second, both views count as one image). */
  imgs_per_s: number;
  /** Wall-clock seconds of the epoch in this process. */
  seconds: number;
  /** kNN top-1 % when measured at this epoch. */
  knn?: number;
  /** The run ended (maxSteps) before the epoch did. */
  partial?: boolean;
}

export interface StepInfo extends StepResult {
  /** Steps done, this one included (1 for the first step). */
  step: number;
  epoch: number;
  batch: number;
  lr: number;
  ema: number;
}

export interface KnnMonitorOptions {
  memory: Dataset;
  query: Dataset;
  /** Measure after every N epochs (and after the last). Default 1. */
  everyEpochs?: number;
  k?: number;
  batchSize?: number;
  /** Evaluation preprocessing (resize/crop, normalisation). */
  transform?: (image: Image) => Image;
}

export interface TrainerOptions {
  method: Method;
  optimizer: Optimizer;
  dataset: Dataset;
  views: ViewPipeline;
  /** Run directory: checkpoints/, metrics.jsonl, plots/. */
  runDir: string;
  batchSize: number;
  epochs: number;
  /** Stop after this many steps in all (schedules span min(epochs * stepsPerEpoch, maxSteps)). */
  maxSteps?: number;
  seed: number;
  /** Per-step learning rate: a schedule, or warm-up + cosine from a peak lr (METHODS.md). */
  lr: LrSchedule | { baseLr: number; warmupEpochs: number };
  /** Drop the last incomplete batch of an epoch (default true). */
  dropLast?: boolean;
  /** Checkpoint after every N epochs (default 1) and, if set, every N steps. */
  checkpointEveryEpochs?: number;
  checkpointEverySteps?: number;
  /** Checkpoints kept on disk (default 3). */
  keepLast?: number;
  knn?: KnnMonitorOptions;
  /** 'bar': progress bar; 'log': a plain line every logEverySteps and per epoch; 'none'. Default 'bar' on a TTY, else 'log'. */
  progress?: 'bar' | 'log' | 'none';
  logEverySteps?: number;
  /** PNG plots in <runDir>/plots after each epoch (default true). */
  plots?: boolean;
  /** Continue from the latest good checkpoint in runDir (a fresh start if there is none). */
  resume?: boolean;
  /** Stored in checkpoints; resuming under a different hash is refused. */
  configHash?: string;
  /** Prepare the next batch while the current step runs (default true). */
  prefetch?: boolean;
  /** Where log lines go (default console.log). */
  log?: (line: string) => void;
  /** Runs one optimizer step on a batch (default trainStepAsync; a data-parallel runner's step for workers > 1). */
  stepFn?: StepFn;
  /** Called after every step; a throw stops the run (the last checkpoint stays). */
  onStep?: (info: StepInfo) => void | Promise<void>;
}

export interface TrainSummary {
  steps: number;
  epochs: number;
  metrics: EpochMetrics[];
  lastCheckpoint?: string;
  /** Step the run started from (> 0 when resumed). */
  resumedFrom: number;
}

/** Checkpoint meta written by the trainer. */
export interface TrainerMeta {
  format: 'selfsup-trainer-v1';
  step: number;
  epoch: number;
  /** Sampler position after `step` steps. */
  sampler: EpochSamplerState;
  /** Generator of trainer-level randomness; augmentation derives from (seed, epoch, index). */
  rng: { state: number; spareNormal: number | null };
  seed: number;
  configHash?: string;
  batchSize: number;
  datasetLength: number;
  stepsPerEpoch: number;
  totalSteps: number;
  methodType: string;
  optimizerType: string;
  /** Optimizer state keys stored in their parameter's PyTorch layout. */
  optimizerTorchLayout: string[];
  methodExtra?: Record<string, unknown>;
  epochAcc: EpochAccumulator;
  metrics: EpochMetrics[];
  history: History;
}

interface EpochAccumulator {
  lossSum: number;
  termSums: Record<string, number>;
  steps: number;
}

/** Per-step curve kept for the plots, thinned by halving once it exceeds MAX_HISTORY points. */
interface History {
  stride: number;
  points: Array<[step: number, loss: number, lr: number, ema: number]>;
}

const MAX_HISTORY = 4000;
const MODEL_PREFIX = 'model';
const OPTIM_PREFIX = 'optimizer';

interface PreparedBatch {
  view1: Float32Array;
  view2: Float32Array;
  shape: [number, number, number, number];
}

/**
 * The training loop: seeded shuffling, two augmented views per image, one optimizer step per
 * batch with per-step lr and EMA momentum, progress, metrics, plots, kNN monitor, checkpoints
 * and exact resume. It knows nothing about which method it drives.
 */
export class Trainer {
  /** Advanced once per prepared batch, in step order (so it runs ahead of the steps by the prefetch). */
  readonly sampler: EpochSampler;
  readonly checkpointer: Checkpointer<TrainerMeta>;
  readonly totalSteps: number;
  private readonly lrAt: (step: number) => number;
  private readonly log: (line: string) => void;
  private readonly rng: SeededRng;
  private lastCheckpoint: string | undefined;

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
    this.checkpointer = new Checkpointer<TrainerMeta>(join(opts.runDir, 'checkpoints'), {
      keepLast: opts.keepLast ?? 3,
      warn: (m) => this.log(`warning: ${m}`),
    });
    this.rng = new SeededRng(mixSeed(opts.seed, 0x7a11));
  }

  get stepsPerEpoch(): number {
    return this.sampler.batchesPerEpoch;
  }

  emaAt(step: number): number {
    const { schedule, baseMomentum } = this.opts.method.ema;
    return emaMomentum(schedule, baseMomentum, step, this.totalSteps);
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
    await mkdir(o.runDir, { recursive: true });
    let meta = await this.restoreOrStart();
    const resumedFrom = meta.step;
    const metricsFile = join(o.runDir, 'metrics.jsonl');
    // Rewritten from the checkpoint, so lines of steps after it (a crash) do not linger.
    await writeFile(metricsFile, meta.metrics.map((m) => JSON.stringify(m) + '\n').join(''));
    const mode = o.progress ?? (process.stderr.isTTY ? 'bar' : 'log');
    const logEvery = o.logEverySteps ?? 50;
    const bar =
      mode === 'bar'
        ? new cliProgress.SingleBar({
            format:
              'epoch {ep} |{bar}| {value}/{total} | loss {loss} | lr {lr} | ema {ema} | {ips} img/s | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 50,
          })
        : undefined;
    bar?.start(this.totalSteps, meta.step, { ep: '-', loss: '-', lr: '-', ema: '-', ips: '-' });

    let step = meta.step;
    let epochStart = performance.now();
    let epochStepsHere = 0;
    let lastLr = NaN;
    let lastEma = NaN;
    const prefetch = o.prefetch ?? true;
    this.sampler.setState(this.samplerStateAt(step));
    const prepare = (s: number) => {
      const p = this.prepareBatch(s);
      // A prefetched batch whose step never comes (error, stop) must not surface as unhandled.
      p.catch(() => undefined);
      return p;
    };
    let next = step < this.totalSteps ? prepare(step) : undefined;
    try {
      while (step < this.totalSteps) {
        const epoch = Math.floor(step / nb);
        const b = step % nb;
        const batch = await next!;
        next = undefined;
        if (prefetch && step + 1 < this.totalSteps) next = prepare(step + 1);
        const lr = this.lrAt(step);
        const ema = this.emaAt(step);
        const v1 = tf.tensor4d(batch.view1, batch.shape);
        const v2 = tf.tensor4d(batch.view2, batch.shape);
        let result: StepResult;
        try {
          result = await (o.stepFn ?? trainStepAsync)(o.method, o.optimizer, v1, v2, {
            lr,
            emaMomentum: ema,
            step: step + 1,
          });
        } catch (e) {
          if (e instanceof NonFiniteLossError) {
            const last = this.lastCheckpoint ?? 'none (no checkpoint was written)';
            throw new Error(
              `training stopped: loss is ${e.loss} at step ${step + 1} (epoch ${epoch + 1}, batch ${b + 1}/${nb}); ` +
                `the step was not applied and nothing was saved; last good checkpoint: ${last}`,
              { cause: e },
            );
          }
          throw e;
        } finally {
          v1.dispose();
          v2.dispose();
        }
        step++;
        epochStepsHere++;
        lastLr = lr;
        lastEma = ema;
        const acc = meta.epochAcc;
        acc.lossSum += result.loss;
        acc.steps++;
        for (const [k, v] of Object.entries(result.terms)) acc.termSums[k] = (acc.termSums[k] ?? 0) + v;
        pushHistory(meta.history, [step, result.loss, lr, ema]);
        if (!prefetch && step < this.totalSteps) next = prepare(step);

        const secs = (performance.now() - epochStart) / 1000;
        const ips = secs > 0 ? (epochStepsHere * o.batchSize) / secs : 0;
        if (bar) {
          bar.update(step, {
            ep: `${epoch + 1}/${o.epochs}`,
            loss: result.loss.toFixed(4),
            lr: lr.toExponential(2),
            ema: ema.toFixed(4),
            ips: ips.toFixed(1),
          });
        } else if (mode === 'log' && logEvery > 0 && step % logEvery === 0) {
          this.log(
            `epoch ${epoch + 1}/${o.epochs} step ${step}/${this.totalSteps} loss ${result.loss.toFixed(4)} ` +
              `lr ${lr.toExponential(3)} ema ${ema.toFixed(5)} ${ips.toFixed(1)} img/s`,
          );
        }
        await o.onStep?.({ ...result, step, epoch: epoch + 1, batch: b + 1, lr, ema });

        const epochDone = step % nb === 0;
        const runDone = step === this.totalSteps;
        if (epochDone || runDone) {
          const m = await this.finishEpoch(meta, {
            epoch: epochDone ? step / nb : epoch + 1,
            step,
            lr: lastLr,
            ema: lastEma,
            seconds: secs,
            imgsPerS: ips,
            partial: !epochDone,
          });
          await appendFile(metricsFile, JSON.stringify(m) + '\n');
          if (mode === 'log') this.log(formatEpoch(m, o.epochs));
          // A partial epoch keeps its sums: a resumed, longer run completes that epoch.
          if (epochDone) meta = { ...meta, epochAcc: { lossSum: 0, termSums: {}, steps: 0 } };
          if (o.plots ?? true) await this.writePlots(meta);
          epochStart = performance.now();
          epochStepsHere = 0;
        }
        const everyEp = o.checkpointEveryEpochs ?? 1;
        const dueEpoch = epochDone && (step / nb) % everyEp === 0;
        const dueSteps = o.checkpointEverySteps !== undefined && step % o.checkpointEverySteps === 0;
        if (dueEpoch || dueSteps || runDone) await this.save(meta, step);
      }
    } finally {
      bar?.stop();
    }
    return {
      steps: step,
      epochs: step / nb,
      metrics: meta.metrics,
      lastCheckpoint: this.lastCheckpoint,
      resumedFrom,
    };
  }

  /** Epoch-end bookkeeping: metrics row (with kNN when due) appended to meta.metrics. */
  private async finishEpoch(
    meta: TrainerMeta,
    e: {
      epoch: number;
      step: number;
      lr: number;
      ema: number;
      seconds: number;
      imgsPerS: number;
      partial: boolean;
    },
  ): Promise<EpochMetrics> {
    const acc = meta.epochAcc;
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
    const knn = this.opts.knn;
    const isLast = e.step === this.totalSteps;
    if (knn && (isLast || (!e.partial && e.epoch % (knn.everyEpochs ?? 1) === 0))) {
      m.knn = await this.measureKnn(knn);
    }
    if (e.partial) m.partial = true;
    meta.metrics.push(m);
    return m;
  }

  /** kNN top-1 % of the online backbone's features (memory set votes for the query set). */
  async measureKnn(knn: KnnMonitorOptions): Promise<number> {
    const { memory, query } = await extractMemoryAndQuery(this.opts.method.backbone, knn, {
      batchSize: knn.batchSize ?? 64,
      transform: knn.transform,
    });
    return knnAccuracyAsync(memory, query, { k: knn.k ?? 20 });
  }

  private async writePlots(meta: TrainerMeta): Promise<void> {
    const dir = join(this.opts.runDir, 'plots');
    const pts = meta.history.points;
    const loss: PlotPoint[] = pts.map(([s, l]) => ({ x: s, y: l, series: 'step' }));
    for (const m of meta.metrics) loss.push({ x: m.step, y: m.loss, series: 'epoch mean' });
    const jobs = [
      writeLinePlot(join(dir, 'loss.png'), loss, { title: 'training loss', xTitle: 'step', yTitle: 'loss' }),
      writeLinePlot(
        join(dir, 'lr.png'),
        pts.map(([s, , lr]) => ({ x: s, y: lr })),
        { title: 'learning rate', xTitle: 'step', yTitle: 'lr' },
      ),
      writeLinePlot(
        join(dir, 'ema.png'),
        pts.map(([s, , , ema]) => ({ x: s, y: ema })),
        { title: 'EMA momentum', xTitle: 'step', yTitle: 'momentum' },
      ),
    ];
    const knn = meta.metrics.filter((m) => m.knn !== undefined).map((m) => ({ x: m.epoch, y: m.knn! }));
    if (knn.length > 0) {
      jobs.push(
        writeLinePlot(join(dir, 'knn.png'), knn, { title: 'kNN top-1', xTitle: 'epoch', yTitle: 'top-1 %' }),
      );
    }
    await Promise.all(jobs);
  }

  private optimizerLayouts(): Map<string, StateEntry> {
    return new Map(this.opts.method.trainableParameters().map((e) => [e.name, e]));
  }

  /** The parameter an optimizer state key belongs to: the longest parameter name that prefixes it. */
  private static paramOf(key: string, params: Map<string, StateEntry>): StateEntry | undefined {
    const parts = key.split('.');
    for (let n = parts.length - 1; n >= 1; n--) {
      const p = params.get(parts.slice(0, n).join('.'));
      if (p) return p;
    }
    return undefined;
  }

  private async save(meta: TrainerMeta, step: number): Promise<void> {
    const o = this.opts;
    // Every read asynchronous and in flight at once: the only way on webgpu, no slower elsewhere.
    const tensors = await exportStateDictAsync(o.method.stateEntries(), MODEL_PREFIX);
    const state = [...o.optimizer.stateTensors()];
    const values = await Promise.all(state.map(([, t]) => t.data()));
    const params = this.optimizerLayouts();
    const torchKeys: string[] = [];
    for (const [i, [key, t]] of state.entries()) {
      const p = Trainer.paramOf(key, params);
      const k = `${OPTIM_PREFIX}.${key}`;
      const same =
        p && p.variable.shape.length === t.shape.length && p.variable.shape.every((d, i) => d === t.shape[i]);
      // Buffers shaped like their parameter are stored in its PyTorch layout, like the model.
      if (p && same) {
        tensors.set(k, toTorchData(values[i], t.shape, p.layout, k));
        torchKeys.push(key);
      } else tensors.set(k, { shape: [...t.shape], data: Float32Array.from(values[i]) });
    }
    const nb = this.stepsPerEpoch;
    const full: TrainerMeta = {
      ...meta,
      step,
      epoch: Math.floor(step / nb),
      sampler: this.samplerStateAt(step),
      rng: this.rng.getState(),
      optimizerTorchLayout: torchKeys,
      methodExtra: o.method.getExtraState?.(),
    };
    this.lastCheckpoint = await this.checkpointer.save(step, { tensors, meta: full });
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

  /** Loads the latest good checkpoint when resuming; refuses to silently mix a new run with old checkpoints. */
  private async restoreOrStart(): Promise<TrainerMeta> {
    const o = this.opts;
    const existing = await this.checkpointer.list();
    if (!o.resume) {
      if (existing.length > 0) {
        throw new Error(
          `run directory ${o.runDir} already has checkpoints (latest step ${existing[existing.length - 1].step}); ` +
            `pass resume to continue it or choose a new run directory`,
        );
      }
      return this.freshMeta();
    }
    const ck = await this.checkpointer.loadLatest();
    if (!ck) {
      this.log(`resume: no checkpoint in ${this.checkpointer.dir}, starting from step 0`);
      return this.freshMeta();
    }
    const m = ck.meta;
    const mismatch = (what: string, saved: unknown, now: unknown) =>
      new Error(
        `cannot resume from ${ck.path}: it was written with ${what} ${String(saved)}, this run has ${String(now)}`,
      );
    if (m.format !== 'selfsup-trainer-v1') throw mismatch('format', m.format, 'selfsup-trainer-v1');
    if (m.configHash !== o.configHash) throw mismatch('config hash', m.configHash, o.configHash);
    if (m.batchSize !== o.batchSize) throw mismatch('batch size', m.batchSize, o.batchSize);
    if (m.datasetLength !== o.dataset.length)
      throw mismatch('dataset length', m.datasetLength, o.dataset.length);
    if (m.stepsPerEpoch !== this.stepsPerEpoch)
      throw mismatch('steps per epoch', m.stepsPerEpoch, this.stepsPerEpoch);
    if (m.seed !== o.seed) throw mismatch('seed', m.seed, o.seed);
    if (m.methodType !== o.method.type) throw mismatch('method', m.methodType, o.method.type);
    if (m.totalSteps !== this.totalSteps) {
      this.log(
        `resume: total steps changed from ${m.totalSteps} to ${this.totalSteps}; schedules follow the new length`,
      );
    }
    importStateDict(o.method.stateEntries(), ck.tensors, { prefix: MODEL_PREFIX, source: ck.path });
    const params = this.optimizerLayouts();
    const torchKeys = new Set(m.optimizerTorchLayout);
    const state = new Map<string, tf.Tensor>();
    try {
      for (const [k, t] of ck.tensors) {
        if (!k.startsWith(`${OPTIM_PREFIX}.`)) continue;
        const key = k.slice(OPTIM_PREFIX.length + 1);
        const p = Trainer.paramOf(key, params);
        let d: TensorData = t;
        if (torchKeys.has(key)) {
          if (!p)
            throw new Error(
              `cannot resume from ${ck.path}: optimizer state '${key}' has no parameter in this method`,
            );
          const want = torchShapeOf(p.variable.shape, p.layout, key);
          if (want.join(',') !== t.shape.join(',')) {
            throw new Error(
              `cannot resume from ${ck.path}: optimizer state '${key}' has shape [${t.shape}], expected [${want}]`,
            );
          }
          d = fromTorchData(t.data, t.shape, p.layout, key);
        }
        state.set(key, tf.tensor(d.data, d.shape));
      }
      o.optimizer.loadStateTensors(state);
    } finally {
      for (const t of state.values()) t.dispose();
    }
    if (m.methodExtra !== undefined) o.method.setExtraState?.(m.methodExtra);
    this.rng.setState(m.rng);
    const at = this.samplerStateAt(ck.step);
    if (m.sampler.epoch !== at.epoch || m.sampler.position !== at.position) {
      throw mismatch('sampler state', JSON.stringify(m.sampler), JSON.stringify(at));
    }
    this.lastCheckpoint = ck.path;
    // A partial last epoch (the previous run hit maxSteps) is re-measured when the epoch completes.
    const metrics = m.metrics.filter((x) => !x.partial);
    this.log(`resumed from ${ck.path} at step ${ck.step} (epoch ${m.epoch})`);
    return { ...m, step: ck.step, configHash: o.configHash, totalSteps: this.totalSteps, metrics };
  }
}

function pushHistory(h: History, p: History['points'][number]): void {
  if ((p[0] - 1) % h.stride !== 0) return;
  h.points.push(p);
  if (h.points.length > MAX_HISTORY) {
    h.stride *= 2;
    h.points = h.points.filter(([s]) => (s - 1) % h.stride === 0);
  }
}

function formatEpoch(m: EpochMetrics, epochs: number): string {
  const knn = m.knn === undefined ? '' : ` knn ${m.knn.toFixed(2)}%`;
  return (
    `epoch ${m.epoch}/${epochs}${m.partial ? ' (partial)' : ''} step ${m.step} loss ${m.loss.toFixed(4)} ` +
    `lr ${m.lr.toExponential(3)} ema ${m.ema.toFixed(5)} ${m.imgs_per_s.toFixed(1)} img/s${knn}`
  );
}
