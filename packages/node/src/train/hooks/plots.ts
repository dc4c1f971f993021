import { join } from 'node:path';
import type { Trainer, TrainerHook } from '@selfsup/core';
import { writeLinePlot, type PlotPoint } from '../plots';

/**
 * plots/*.png after each epoch: loss (per step and epoch mean), lr, EMA momentum (methods with
 * a target network), kNN, maps lift.
 */
export class PlotsHook implements TrainerHook {
  readonly name = 'plots';
  readonly priority = 70;

  constructor(readonly dir: string) {}

  async afterEpoch(trainer: Trainer): Promise<void> {
    const { history, metrics } = trainer.meta;
    const pts = history.points;
    const dir = this.dir;
    const loss: PlotPoint[] = pts.map(([s, l]) => ({ x: s, y: l, series: 'step' }));
    for (const m of metrics) loss.push({ x: m.step, y: m.loss, series: 'epoch mean' });
    const jobs = [
      writeLinePlot(join(dir, 'loss.png'), loss, { title: 'training loss', xTitle: 'step', yTitle: 'loss' }),
      writeLinePlot(
        join(dir, 'lr.png'),
        pts.map(([s, , lr]) => ({ x: s, y: lr })),
        { title: 'learning rate', xTitle: 'step', yTitle: 'lr' },
      ),
    ];
    const ema = pts.flatMap(([s, , , m]) => (m === null ? [] : [{ x: s, y: m }]));
    if (ema.length > 0) {
      jobs.push(
        writeLinePlot(join(dir, 'ema.png'), ema, {
          title: 'EMA momentum',
          xTitle: 'step',
          yTitle: 'momentum',
        }),
      );
    }
    const knn = metrics.filter((m) => m.knn !== undefined).map((m) => ({ x: m.epoch, y: m.knn! }));
    if (knn.length > 0) {
      jobs.push(
        writeLinePlot(join(dir, 'knn.png'), knn, { title: 'kNN top-1', xTitle: 'epoch', yTitle: 'top-1 %' }),
      );
    }
    const lift = metrics.filter((m) => typeof m.maps_lift === 'number');
    if (lift.length > 0) {
      jobs.push(
        writeLinePlot(
          join(dir, 'maps_lift.png'),
          lift.map((m) => ({ x: m.epoch, y: m.maps_lift as number })),
          {
            title: 'alignment-map lift on object masks (1 = uniform map)',
            xTitle: 'epoch',
            yTitle: 'lift (x)',
          },
        ),
      );
    }
    await Promise.all(jobs);
  }
}
