/**
 * The trainer hooks of a page run: pausing, checkpoint requests and stepping aside for messages
 * (ControlHook), the alignment maps of fixed images (MapsHook) and the events the page draws
 * (EventsHook). Platform-neutral: a Node test drives them too.
 */
import {
  imagesToTensor,
  tf,
  type EpochMetrics,
  type Image,
  type Method,
  type StepInfo,
  type Trainer,
  type TrainerHook,
} from '@selfsup/core';

/** One refresh of the maps: [images, slots, h, w] softmax maps of the online encoder. */
export interface MapsFrame {
  step: number;
  images: number;
  slots: number;
  height: number;
  width: number;
  data: Float32Array;
}

/** Lets the event loop run: a worker's onmessage (pause, download) is handled only between tasks. */
export const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs last at every step boundary: yields to the event loop, serves checkpoint requests and
 * holds the loop while paused. An epoch's last step is a boundary only after its afterEpoch
 * hooks, so a checkpoint taken there already has the epoch's metrics row (as CheckpointHook).
 */
export class ControlHook implements TrainerHook {
  readonly name = 'page-control';
  readonly priority = 95;
  private isPaused = false;
  private wake: (() => void) | undefined;
  private pending: Array<() => Promise<void>> = [];

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    this.poke();
  }

  /** Runs `task` at the next step boundary (at once is the caller's job when no run is active). */
  atBoundary<T>(task: () => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push(() => Promise.resolve().then(task).then(resolve, reject));
      this.poke();
    });
  }

  /** Runs the queued tasks now (the trainer is idle: before the first or after the last step). */
  async drain(): Promise<void> {
    // Awaited at a boundary: a checkpoint's asynchronous reads finish before the next step.
    await Promise.all(this.pending.splice(0).map((t) => t()));
  }

  afterStep(trainer: Trainer, s: StepInfo): Promise<void> | void {
    if (s.step % trainer.stepsPerEpoch === 0 || s.step === trainer.totalSteps) return;
    return this.boundary(trainer);
  }

  afterEpoch(trainer: Trainer): Promise<void> {
    return this.boundary(trainer);
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async boundary(trainer: Trainer): Promise<void> {
    await nextTask();
    for (;;) {
      await this.drain();
      if (!this.isPaused || trainer.stopping) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/**
 * The alignment maps of a few fixed held-out images: before the first step, every `every`
 * steps and after the last, when the method makes maps (LEWEL); none for plain BYOL/MoCo.
 */
export class MapsHook implements TrainerHook {
  readonly name = 'page-maps';
  readonly priority = 30;
  readonly available: boolean;
  private lastStep = -1;

  constructor(
    private readonly method: Method,
    /** The images as the network sees them (normalised), in the order shown. */
    private readonly inputs: Image[],
    private readonly every: number,
    private readonly emit: (frame: MapsFrame) => void,
  ) {
    if (!(Number.isInteger(every) && every >= 1))
      throw new Error(`mapsEvery must be an integer >= 1, got ${every}`);
    this.available = inputs.length > 0 && this.probe();
  }

  beforeRun(trainer: Trainer): Promise<void> {
    return this.draw(trainer.meta.step);
  }

  afterStep(_trainer: Trainer, s: StepInfo): Promise<void> | void {
    if (s.step % this.every === 0) return this.draw(s.step);
  }

  afterRun(trainer: Trainer): Promise<void> {
    return this.draw(trainer.meta.step);
  }

  /**
   * Computes and emits the maps now (also used after loading a checkpoint). The read is
   * asynchronous: on webgpu a synchronous one goes through a WebGPU canvas context, which in
   * Chromium on SwiftShader loses the device ("A valid external Instance reference no longer
   * exists"), and it would stall the GPU queue on any adapter.
   */
  async draw(step: number): Promise<void> {
    if (!this.available || step === this.lastStep) return;
    this.lastStep = step;
    const maps = tf.tidy(() => this.method.alignmentMaps!(imagesToTensor(this.inputs, 'map images')));
    try {
      const [images, slots, height, width] = maps.shape;
      const data = (await maps.data()) as Float32Array;
      // A copy of its own: the frame's buffer is transferred to the page.
      this.emit({ step, images, slots, height, width, data: Float32Array.from(data) });
    } finally {
      maps.dispose();
    }
  }

  private probe(): boolean {
    if (!this.method.alignmentMaps) return false;
    const x = imagesToTensor(this.inputs.slice(0, 1), 'map images');
    try {
      tf.dispose(this.method.alignmentMaps(x));
      return true;
    } catch {
      return false; // the global aggregator: no maps
    } finally {
      x.dispose();
    }
  }
}

/** Where a run begins: step 0, or a continued checkpoint's step with its loss curve and epochs. */
export interface RunBegin {
  step: number;
  /** [step, loss] of the steps done before (thinned as the trainer keeps them). */
  history: Array<[number, number]>;
  metrics: EpochMetrics[];
}

export interface RunEvents {
  begin?(state: RunBegin): void;
  step?(info: StepInfo): void;
  epoch?(metrics: EpochMetrics): void;
}

/** Hands the start, each step and each epoch (with the kNN the monitor added, priority 20) to the page. */
export class EventsHook implements TrainerHook {
  readonly name = 'page-events';
  readonly priority = 60;
  constructor(private readonly events: RunEvents) {}
  beforeRun(t: Trainer): void {
    const m = t.meta;
    this.events.begin?.({
      step: m.step,
      history: m.history.points.map(([step, loss]) => [step, loss]),
      metrics: m.metrics,
    });
  }
  afterStep(_t: Trainer, s: StepInfo): void {
    this.events.step?.(s);
  }
  afterEpoch(_t: Trainer, m: EpochMetrics): void {
    this.events.epoch?.(m);
  }
}
