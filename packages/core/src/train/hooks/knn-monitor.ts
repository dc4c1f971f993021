import type { Dataset, Image } from '../../contracts';
import { extractMemoryAndQuery } from '../../eval/features';
import { knnAccuracyAsync } from '../../eval/knn';
import type { TrainerHook } from '../hook';
import type { EpochMetrics } from '../state';
import type { Trainer } from '../trainer';

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

/** kNN top-1 % of the online backbone's features, added to the epoch's metrics as `knn`. */
export class KnnMonitorHook implements TrainerHook {
  readonly name = 'knn';
  readonly priority = 20;

  constructor(readonly options: KnnMonitorOptions) {}

  async afterEpoch(trainer: Trainer, m: EpochMetrics): Promise<void> {
    const isLast = m.step === trainer.totalSteps;
    if (isLast || (!m.partial && m.epoch % (this.options.everyEpochs ?? 1) === 0)) {
      m.knn = await this.measure(trainer);
    }
  }

  async measure(trainer: Trainer): Promise<number> {
    const o = this.options;
    const { memory, query } = await extractMemoryAndQuery(trainer.opts.method.backbone, o, {
      batchSize: o.batchSize ?? 64,
      transform: o.transform,
    });
    return knnAccuracyAsync(memory, query, { k: o.k ?? 20 });
  }
}
