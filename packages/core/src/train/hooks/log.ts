import type { TrainerHook } from '../hook';
import { formatEma, formatEpoch, type EpochMetrics, type StepInfo } from '../state';
import type { Trainer } from '../trainer';

/** Plain progress lines through the trainer's log: every N steps and at each epoch's end. */
export class LogHook implements TrainerHook {
  readonly name = 'log';
  readonly priority = 50;

  constructor(readonly everySteps = 50) {}

  afterStep(trainer: Trainer, s: StepInfo): void {
    if (this.everySteps <= 0 || s.step % this.everySteps !== 0) return;
    trainer.log(
      `epoch ${s.epoch}/${trainer.opts.epochs} step ${s.step}/${trainer.totalSteps} loss ${s.loss.toFixed(4)} ` +
        `lr ${s.lr.toExponential(3)}${formatEma(s.ema)} ${s.imgsPerS.toFixed(1)} img/s`,
    );
  }

  afterEpoch(trainer: Trainer, m: EpochMetrics): void {
    trainer.log(formatEpoch(m, trainer.opts.epochs));
  }
}
