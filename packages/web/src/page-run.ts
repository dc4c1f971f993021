/**
 * One training run of the page: the pipeline of the config, its data, a Trainer with the kNN
 * monitor and the page's hooks, and checkpoints in the format `selfsup eval` and
 * `selfsup train --resume` read. Runs inside the page's worker; platform-neutral, so the Node
 * tests run it as well.
 */
import {
  checkpointFileName,
  createPipeline,
  decodeCheckpoint,
  encodeCheckpoint,
  KnnMonitorHook,
  Trainer,
  type Dataset,
  type EpochMetrics,
  type Image,
  type Pipeline,
  type Plugin,
  type SelfsupConfig,
  type StepInfo,
  type TrainerHook,
  type TrainerMeta,
  type TrainSummary,
} from '@selfsup/core';
import { buildSplits, buildViews, displayTransform, evalTransform, type PageSplits } from './datasets';
import { ControlHook, EventsHook, MapsHook, type MapsFrame, type RunBegin } from './hooks';
import { configHash } from './run-config';

/** Checkpoint meta of the page: the trainer's, plus the resolved config (read by `selfsup eval`). */
export interface PageCheckpointMeta extends TrainerMeta {
  config: SelfsupConfig;
}

export interface PageRunOptions {
  config: SelfsupConfig;
  plugins: Plugin[];
  /** The user's decoded folder, when the config's data is `image_folder`. */
  folder?: Dataset;
  /** A checkpoint to continue from (written by the page, same config). */
  checkpoint?: { name: string; bytes: Uint8Array };
  /** Refresh the alignment maps every N steps. */
  mapsEvery: number;
  /** How many held-out images the maps are shown on. */
  mapImages?: number;
  begin?(state: RunBegin): void;
  step?(info: StepInfo): void;
  epoch?(metrics: EpochMetrics): void;
  maps?(frame: MapsFrame): void;
  log?(line: string): void;
}

/** The config a page checkpoint embeds; throws naming the file when it has none. */
export function checkpointConfig(name: string, bytes: Uint8Array): SelfsupConfig {
  const meta = decodeCheckpoint<Partial<PageCheckpointMeta>>(bytes, name).meta;
  if (!meta || typeof meta.config !== 'object' || meta.config === null) {
    throw new Error(
      `checkpoint ${name} embeds no config (it was not written by the page); ` +
        'the page continues only its own checkpoints',
    );
  }
  return meta.config;
}

export class PageRun {
  readonly control = new ControlHook();
  readonly trainer: Trainer;
  readonly maps: MapsHook;
  private running = false;

  private constructor(
    readonly config: SelfsupConfig,
    readonly pipeline: Pipeline,
    readonly splits: PageSplits,
    /** The map images as loaded (un-normalised), for drawing. */
    readonly mapImages: Image[],
    options: PageRunOptions,
    mapInputs: Image[],
  ) {
    const t = config.train;
    const log = options.log ?? (() => undefined);
    this.maps = new MapsHook(pipeline.method, mapInputs, options.mapsEvery, (f) => options.maps?.(f));
    const hooks: TrainerHook[] = [this.maps, new EventsHook(options), this.control];
    if (splits.trainEval && splits.test && t.knnEvery > 0) {
      hooks.push(
        new KnnMonitorHook({
          memory: splits.trainEval,
          query: splits.test,
          everyEpochs: t.knnEvery,
          k: config.eval.knnK,
          transform: evalTransform(config.data.imageSize),
        }),
      );
    }
    const checkpoint = options.checkpoint;
    if (checkpoint) {
      hooks.push({
        name: 'page-restore',
        restore: (trainer) =>
          trainer.restore(decodeCheckpoint<TrainerMeta>(checkpoint.bytes, checkpoint.name)),
      });
    }
    this.trainer = new Trainer({
      method: pipeline.method,
      optimizer: pipeline.optimizer,
      dataset: splits.train,
      views: buildViews(config, pipeline),
      batchSize: t.batchSize,
      epochs: t.epochs,
      maxSteps: t.maxSteps,
      seed: t.seed,
      lr: { baseLr: pipeline.baseLr, warmupEpochs: t.warmupEpochs },
      configHash: configHash(config),
      hooks,
      log,
    });
  }

  static async create(options: PageRunOptions): Promise<PageRun> {
    const { config } = options;
    const pipeline = createPipeline(config, { plugins: options.plugins, source: 'page config' });
    try {
      const splits = await buildSplits(config, pipeline, options.folder);
      const shown = splits.test ?? splits.train;
      const count = Math.min(options.mapImages ?? 6, shown.length);
      const mapImages = await Promise.all(
        Array.from({ length: count }, async (_, i) => (await shown.get(i)).image),
      );
      const size = config.data.imageSize;
      const shownImages = mapImages.map(displayTransform(size));
      return new PageRun(config, pipeline, splits, shownImages, options, mapImages.map(evalTransform(size)));
    } catch (err) {
      pipeline.dispose();
      throw err;
    }
  }

  get totalSteps(): number {
    return this.trainer.totalSteps;
  }

  get stepsPerEpoch(): number {
    return this.trainer.stepsPerEpoch;
  }

  get isRunning(): boolean {
    return this.running;
  }

  async run(): Promise<TrainSummary> {
    if (this.running) throw new Error('page run: already running');
    this.running = true;
    try {
      return await this.trainer.run();
    } finally {
      this.running = false;
      await this.control.drain();
    }
  }

  /**
   * The checkpoint of the current step: at the next step boundary while training, at once
   * otherwise. The file is the CLI's checkpoint format with the resolved config in its meta.
   */
  checkpoint(): Promise<{ name: string; bytes: Uint8Array; step: number }> {
    const take = async () => {
      const snap = await this.trainer.snapshot();
      const meta: PageCheckpointMeta = { ...snap.meta, config: this.config };
      const step = snap.meta.step;
      return {
        name: checkpointFileName(step),
        bytes: encodeCheckpoint(step, { tensors: snap.tensors, meta }),
        step,
      };
    };
    if (!this.running) return take();
    return this.control.atBoundary(take);
  }

  /** Stops after the step in flight; run() then rejects with StopRequested. */
  stop(reason: string): void {
    this.trainer.requestStop(reason);
    this.control.resume();
  }

  dispose(): void {
    this.pipeline.dispose();
  }
}
