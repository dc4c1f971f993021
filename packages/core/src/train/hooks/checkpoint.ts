import { Checkpointer, type CheckpointStorage } from '../../io/checkpoint';
import type { TrainerHook } from '../hook';
import type { EpochMetrics, StepInfo, TrainerMeta } from '../state';
import type { Trainer } from '../trainer';

export interface CheckpointHookOptions {
  storage: CheckpointStorage;
  /** Continue from the newest good checkpoint (a fresh start if there is none). */
  resume?: boolean;
  /** Save after every N epochs (default 1), at the end, and, if set, every N steps. */
  everyEpochs?: number;
  everySteps?: number;
  /** Checkpoints kept (default 3). */
  keepLast?: number;
}

/**
 * Exact resume: restores the newest good checkpoint before the first step, saves on its
 * schedule, at the end of the run and when a stop is requested. Refuses to start a new run over
 * existing checkpoints.
 */
export class CheckpointHook implements TrainerHook {
  readonly name = 'checkpoint';
  readonly priority = 80;
  private checkpointer?: Checkpointer<TrainerMeta>;

  constructor(readonly options: CheckpointHookOptions) {}

  checkpointerFor(trainer: Trainer): Checkpointer<TrainerMeta> {
    this.checkpointer ??= new Checkpointer<TrainerMeta>(this.options.storage, {
      keepLast: this.options.keepLast ?? 3,
      warn: (m) => trainer.log(`warning: ${m}`),
    });
    return this.checkpointer;
  }

  async restore(trainer: Trainer): Promise<void> {
    const checkpointer = this.checkpointerFor(trainer);
    if (!this.options.resume) {
      const existing = await checkpointer.list();
      if (existing.length > 0) {
        throw new Error(
          `run directory ${checkpointer.dir} already has checkpoints (latest step ${existing[existing.length - 1].step}); ` +
            `pass resume to continue it or choose a new run directory`,
        );
      }
      return;
    }
    const ck = await checkpointer.loadLatest();
    if (!ck) {
      trainer.log(`resume: no checkpoint in ${checkpointer.dir}, starting from step 0`);
      return;
    }
    trainer.restore(ck);
  }

  afterStep(trainer: Trainer, s: StepInfo): Promise<void> | void {
    // Epoch ends and the run's end are saved after the epoch's hooks, so the metrics row is in.
    if (s.step % trainer.stepsPerEpoch === 0 || s.step === trainer.totalSteps) return;
    const every = this.options.everySteps;
    if (trainer.stopping || (every !== undefined && s.step % every === 0)) return this.save(trainer);
  }

  afterEpoch(trainer: Trainer, m: EpochMetrics): Promise<void> | void {
    const step = m.step;
    const everyEp = this.options.everyEpochs ?? 1;
    const dueEpoch = !m.partial && m.epoch % everyEp === 0;
    const dueSteps = this.options.everySteps !== undefined && step % this.options.everySteps === 0;
    if (dueEpoch || dueSteps || step === trainer.totalSteps || trainer.stopping) return this.save(trainer);
  }

  async save(trainer: Trainer): Promise<void> {
    const snap = await trainer.snapshot();
    trainer.lastCheckpoint = await this.checkpointerFor(trainer).save(snap.meta.step, snap);
  }
}
