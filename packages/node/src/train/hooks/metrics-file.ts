import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { EpochMetrics, Trainer, TrainerHook } from '@selfsup/core';

/** metrics.jsonl: one JSON line per epoch, rewritten from the restored state at start. */
export class MetricsFileHook implements TrainerHook {
  readonly name = 'metrics-file';
  readonly priority = 60;

  constructor(readonly file: string) {}

  async beforeRun(trainer: Trainer): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    // Rewritten from the checkpoint, so lines of steps after it (a crash) do not linger.
    await writeFile(this.file, trainer.meta.metrics.map((m) => JSON.stringify(m) + '\n').join(''));
  }

  async afterEpoch(_trainer: Trainer, m: EpochMetrics): Promise<void> {
    await appendFile(this.file, JSON.stringify(m) + '\n');
  }
}
