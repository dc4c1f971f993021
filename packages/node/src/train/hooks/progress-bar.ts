import cliProgress from 'cli-progress';
import type { StepInfo, Trainer, TrainerHook } from '@selfsup/core';

/** A terminal progress bar: epoch, step, loss, lr, EMA momentum, img/s and ETA. */
export class ProgressBarHook implements TrainerHook {
  readonly name = 'progress-bar';
  readonly priority = 50;
  private bar?: cliProgress.SingleBar;

  beforeRun(trainer: Trainer): void {
    this.bar = new cliProgress.SingleBar({
      format:
        'epoch {ep} |{bar}| {value}/{total} | loss {loss} | lr {lr} | ema {ema} | {ips} img/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    });
    this.bar.start(trainer.totalSteps, trainer.meta.step, {
      ep: '-',
      loss: '-',
      lr: '-',
      ema: '-',
      ips: '-',
    });
  }

  afterStep(trainer: Trainer, s: StepInfo): void {
    this.bar?.update(s.step, {
      ep: `${s.epoch}/${trainer.opts.epochs}`,
      loss: s.loss.toFixed(4),
      lr: s.lr.toExponential(2),
      ema: s.ema === null ? '-' : s.ema.toFixed(4),
      ips: s.imgsPerS.toFixed(1),
    });
  }

  close(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
