import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Checkpointer,
  configMismatch,
  resolveDataset,
  type LoadedCheckpoint,
  type SelfsupConfig,
  type TrainerMeta,
} from '@selfsup/core';
import { FileCheckpointStorage } from '../io/file-checkpoint-storage';
import {
  configHash,
  hashedParts,
  HOLD_OUT_EVERY,
  loadConfig,
  RESOLVED_CONFIG,
  resumeBreakingChanges,
  type DataSplits,
  type Session,
} from './session';

/*
 * The checks `selfsup train` makes before it writes anything into the run folder, in the order
 * they can be made: the folder and its checkpoints first, then what needs the model, then what
 * needs the data. Each throws a message naming the config key or flag at fault.
 */

const RESUMABLE_CHANGES =
  'only train.epochs, train.maxSteps, logging, checkpointing and eval settings may change on resume';

const checkpointsOf = (runDir: string) => join(runDir, 'checkpoints');

/**
 * Refuses a run directory that already holds another run (without --resume) or whose
 * config.yaml was trained under settings a resume cannot change.
 */
export async function checkRunDirectory(
  runDir: string,
  config: SelfsupConfig,
  resume: boolean,
): Promise<void> {
  const existing = await new Checkpointer(new FileCheckpointStorage(checkpointsOf(runDir))).list();
  if (existing.length === 0) return;
  if (!resume) {
    throw new Error(
      `run directory ${runDir} already has checkpoints (latest step ${existing[existing.length - 1].step}); ` +
        'pass --resume to continue it, or --out to choose a new run directory',
    );
  }
  const previousPath = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(previousPath)) return;
  let previous: SelfsupConfig;
  try {
    previous = await loadConfig(previousPath);
  } catch {
    return; // Unreadable: the checkpoint's own settings still guard the resume.
  }
  const changed = resumeBreakingChanges(previous, config);
  if (changed.length > 0) {
    throw new Error(
      `cannot resume ${runDir}: these settings differ from its ${RESOLVED_CONFIG}: ${changed.join(', ')}; ` +
        RESUMABLE_CHANGES,
    );
  }
}

/**
 * The checkpoint `--resume` will continue from (the newest that verifies, as the trainer picks
 * it), refused now if it was written under other settings: the message lists them from the
 * checkpoint's own record, so a config.yaml that was edited or lost does not matter.
 */
export async function resumeCheckpoint(
  runDir: string,
  config: SelfsupConfig,
): Promise<LoadedCheckpoint<TrainerMeta> | undefined> {
  // Quiet: the trainer reports the same fallbacks when it resumes.
  const checkpointer = new Checkpointer<TrainerMeta>(new FileCheckpointStorage(checkpointsOf(runDir)), {
    warn: () => undefined,
  });
  const ck = await checkpointer.loadLatest();
  if (!ck) return undefined;
  const problem = configMismatch(ck.meta, {
    configHash: configHash(config),
    configSettings: hashedParts(config),
  });
  if (problem)
    throw new Error(
      `cannot resume ${runDir} from ${ck.path}: it was written with ${problem}; ${RESUMABLE_CHANGES}`,
    );
  return ck;
}

const DROP_LAST = 'every epoch needs one full batch (the last incomplete batch is dropped)';

/**
 * Before any data is built: a dataset that takes `count` (or `limit`) never yields more than
 * data.count training images, so a larger train.batchSize cannot work.
 */
export function checkBatchSizeAgainstCount(session: Session): void {
  const { config, pipeline } = session;
  const { batchSize } = config.train;
  const { keys } = resolveDataset(config, pipeline);
  if (!keys.has('count') && !keys.has('limit')) return;
  if (batchSize > config.data.count) {
    throw new Error(
      `train.batchSize ${batchSize} exceeds data.count ${config.data.count}: ${DROP_LAST}; ` +
        'lower train.batchSize or raise data.count',
    );
  }
}

/** Once the data is built: the training split must hold at least one batch. */
export function checkBatchSizeAgainstData(session: Session, splits: DataSplits): void {
  const { config } = session;
  const { batchSize } = config.train;
  const n = splits.train.length;
  if (batchSize <= n) return;
  const d = config.data;
  const where = d.path ? ` at ${d.path}` : '';
  const heldOut =
    splits.source.length !== n
      ? ` (of ${splits.source.length}, every ${HOLD_OUT_EVERY}th held out for evaluation)`
      : '';
  const limited = splits.source.length >= d.count ? ` (data.count is ${d.count})` : '';
  throw new Error(
    `train.batchSize ${batchSize} exceeds the ${n} training images of dataset '${d.dataset}'${where}${heldOut}: ` +
      `${DROP_LAST}; lower train.batchSize, or add images${limited ? ' or raise data.count' : ''}${limited}`,
  );
}
