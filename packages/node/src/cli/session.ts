import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join, dirname, basename, resolve } from 'node:path';
import YAML from 'yaml';
import type { Dataset, DataSplits, ViewPipeline } from '@selfsup/core';
import { parseConfig, settingsDiff, type SelfsupConfig } from '@selfsup/core';
import { createPipeline, type Pipeline } from '@selfsup/core';
import {
  buildDataSplits,
  buildViews as buildConfigViews,
  isOptionalKey,
  resolveDataset,
} from '@selfsup/core';
import { Checkpointer, type LoadedCheckpoint } from '@selfsup/core';
import { FileCheckpointStorage } from '../io/file-checkpoint-storage';
import { CHECKPOINT_OPTIONAL_BUFFERS, importStateDict } from '@selfsup/core';
import { applyOverrides, readConfigFile } from './config-file';
import { prepareRuntime, type Runtime } from '../runtime/runtime';
import { isPathSpec, resolvePlugin } from '../runtime/plugin-resolve';

export const RESOLVED_CONFIG = 'config.yaml';

/** How errors name a config: its file, and whether --set changed it. */
export const configSource = (path: string, sets: string[] = []) =>
  sets.length ? `${path} (with --set overrides)` : path;

/**
 * Reads, overrides and validates a config: the one place a config file is parsed. Defaults are
 * filled in, `--plugin` flags join `plugins:`, and plugin file paths become absolute (config
 * entries relative to the config's folder, flags relative to the working directory), so the
 * run's config.yaml loads the same plugins from anywhere. Errors name the file and the key.
 */
export async function loadConfig(
  path: string,
  sets: string[] = [],
  pluginFlags: string[] = [],
): Promise<SelfsupConfig> {
  const raw = applyOverrides(await readConfigFile(path), sets);
  const config = parseConfig(raw, configSource(path, sets));
  const fromConfig = config.plugins.map((spec, i) =>
    absolutePluginPath(spec, [dirname(path), process.cwd()], `${path}: plugins[${i}]`),
  );
  config.plugins = fromConfig;
  return withPluginFlags(config, pluginFlags);
}

/** `--plugin` flags joined to a config's plugins (file paths made absolute from the working directory). */
function withPluginFlags(config: SelfsupConfig, pluginFlags: string[]): SelfsupConfig {
  const fromFlags = pluginFlags.map((spec) => absolutePluginPath(spec, [process.cwd()], '--plugin'));
  config.plugins = [...new Set([...config.plugins, ...fromFlags])];
  return config;
}

/** A plugin file path made absolute (package names stay names); a missing file names its origin. */
function absolutePluginPath(spec: string, dirs: string[], origin: string): string {
  if (!isPathSpec(spec)) return spec;
  try {
    return resolvePlugin(spec, dirs).path;
  } catch (err) {
    throw new Error(`${origin} '${spec}': ${(err as Error).message}`);
  }
}

/** Where user plugins named by package are looked up: the working directory, then the config's folder. */
export const pluginSearchDirs = (configPath?: string) =>
  configPath ? [process.cwd(), dirname(resolve(configPath))] : [process.cwd()];

/**
 * Everything that shapes the model and the data stream; not epochs or logging. Checkpoints
 * record it, so a refused resume names the settings that differ.
 */
export function hashedParts(config: SelfsupConfig): Record<string, unknown> {
  const { method, backbone, aggregator, optimizer, data } = config;
  const { seed, batchSize, warmupEpochs, lrSchedule } = config.train;
  // lrSchedule only when set, so runs from before it existed keep their hash.
  const train = { seed, batchSize, warmupEpochs, ...(lrSchedule !== undefined && { lrSchedule }) };
  return { method, backbone, aggregator, optimizer, data, train };
}

export function configHash(config: SelfsupConfig): string {
  // Same JSON as before the parts were named, so existing checkpoints still resume.
  const { train, ...rest } = hashedParts(config);
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, ...(train as object) }))
    .digest('hex')
    .slice(0, 16);
}

/** Key paths whose values differ between two configs, among the keys a resume must keep. */
export function resumeBreakingChanges(before: SelfsupConfig, after: SelfsupConfig): string[] {
  return settingsDiff(hashedParts(before), hashedParts(after));
}

export { HOLD_OUT_EVERY, evalTransform, type DataSplits } from '@selfsup/core';

/**
 * Builds the train and test datasets from `data.*` (core's buildDataSplits), first checking
 * that a dataset that reads files was given its path.
 */
export async function buildDatasets(session: {
  config: SelfsupConfig;
  pipeline: Pipeline;
}): Promise<DataSplits> {
  const { config, pipeline } = session;
  const d = config.data;
  const { registration, keys } = resolveDataset(config, pipeline);
  if (keys.has('path') && !d.path && !isOptionalKey(registration.optionsSchema, 'path')) {
    throw new Error(`data.path: dataset '${d.dataset}' needs a path (set data.path or --set data.path=DIR)`);
  }
  return buildDataSplits(config, pipeline);
}

/** Paths a dataset skipped as unreadable (image_folder with onBadImage: skip), if it keeps such a list. */
export function skippedImages(dataset: Dataset): string[] {
  const bad = (dataset as { badImages?: unknown }).badImages;
  return Array.isArray(bad) ? bad.filter((p): p is string => typeof p === 'string') : [];
}

/** The method's own augmentation unless `data.views` names another. */
export function buildViews(session: { config: SelfsupConfig; pipeline: Pipeline }): ViewPipeline {
  return buildConfigViews(session.config, session.pipeline);
}

export interface Session {
  config: SelfsupConfig;
  runtime: Runtime;
  pipeline: Pipeline;
}

export async function openSession(
  config: SelfsupConfig,
  opts: { backend?: string; threads?: number; source?: string; configPath?: string },
): Promise<Session> {
  const runtime = await prepareRuntime({
    backend: opts.backend,
    configBackend: config.backend,
    plugins: config.plugins.map((spec, i) => ({ spec, origin: `${opts.source ?? 'config'}: plugins[${i}]` })),
    searchDirs: pluginSearchDirs(opts.configPath),
    threads: opts.threads,
  });
  // The source names the config file in errors about options of a type (method, optimizer, ...).
  const pipeline = createPipeline(config, { plugins: runtime.plugins, source: opts.source });
  return { config, runtime, pipeline };
}

/**
 * A checkpoint given as a file, a checkpoints/ folder or a run folder (its newest checkpoint,
 * refused if unusable), and the run's resolved config beside it, or else (a lone file, e.g.
 * downloaded from the web page) the resolved config the checkpoint embeds under meta.config.
 */
export async function locateCheckpoint(
  target: string,
): Promise<{ file: string; runDir: string; configPath: string; embeddedConfig?: Record<string, unknown> }> {
  if (!existsSync(target)) throw new Error(`--checkpoint ${target}: no such file or folder`);
  let file: string;
  let checkpointsDir: string;
  if (statSync(target).isDirectory()) {
    checkpointsDir = existsSync(join(target, 'checkpoints')) ? join(target, 'checkpoints') : target;
    file = await newestUsableCheckpoint(target, checkpointsDir);
  } else {
    file = target;
    checkpointsDir = dirname(target);
  }
  const runDir = basename(checkpointsDir) === 'checkpoints' ? dirname(checkpointsDir) : checkpointsDir;
  const configPath = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(configPath)) {
    const embedded = await new Checkpointer(new FileCheckpointStorage(dirname(file)))
      .load(basename(file))
      .then((ck) => (ck.meta as { config?: unknown } | undefined)?.config)
      .catch(() => undefined); // an unreadable file fails below, naming the missing config
    if (embedded !== null && typeof embedded === 'object' && !Array.isArray(embedded)) {
      return {
        file,
        runDir,
        configPath: `${file} (embedded config)`,
        embeddedConfig: embedded as Record<string, unknown>,
      };
    }
    throw new Error(
      `--checkpoint ${target}: the run's ${RESOLVED_CONFIG} is not at ${configPath} and the checkpoint embeds no config (pass --config)`,
    );
  }
  return { file, runDir, configPath };
}

/**
 * The run's newest checkpoint, verified. Unlike `train --resume`, which falls back past an
 * unusable newest checkpoint (corrupt, NaN/Inf) because retraining the lost steps gives the
 * same run, eval/maps/embed/export refuse it: results silently taken from an older step would
 * be reported as the run's. The message names the previous good file to pass instead.
 */
async function newestUsableCheckpoint(target: string, checkpointsDir: string): Promise<string> {
  const checkpointer = new Checkpointer(new FileCheckpointStorage(checkpointsDir));
  const all = await checkpointer.list();
  if (all.length === 0) throw new Error(`--checkpoint ${target}: no checkpoint in ${checkpointsDir}`);
  const newest = all[all.length - 1];
  const reason = await checkpointer.load(newest.name).then(
    () => undefined,
    (err: unknown) => (err as Error).message,
  );
  if (reason === undefined) return newest.path;
  let previousGood: string | undefined;
  for (let i = all.length - 2; i >= 0 && previousGood === undefined; i--) {
    const ok = await checkpointer.load(all[i].name).then(
      () => true,
      () => false,
    );
    if (ok) previousGood = all[i].path;
  }
  const advice = previousGood
    ? `to use the previous good checkpoint, pass --checkpoint ${previousGood}`
    : `no older checkpoint in ${checkpointsDir} is usable either`;
  throw new Error(
    `${reason}; --checkpoint ${target} takes the run's newest checkpoint and refuses an unusable one ` +
      `(only train --resume falls back): ${advice}`,
  );
}

/**
 * Loads the model part of a trainer checkpoint into the pipeline's method (strict, by name). A
 * checkpoint of another architecture fails naming the config the model was built from.
 */
export async function loadModelWeights(
  pipeline: Pipeline,
  file: string,
  configSource?: string,
): Promise<LoadedCheckpointInfo> {
  const ckpt = await new Checkpointer(new FileCheckpointStorage(dirname(file))).load(basename(file));
  try {
    // Checkpoints written before BatchNorm kept num_batches_tracked still load.
    importStateDict(pipeline.method.stateEntries(), ckpt.tensors, {
      prefix: 'model',
      optionalBuffers: CHECKPOINT_OPTIONAL_BUFFERS,
    });
  } catch (err) {
    const built = configSource ? ` built from ${configSource}` : '';
    throw new Error(
      `checkpoint ${file} does not fit the model${built} (another method, backbone or head size?): ` +
        (err as Error).message,
      { cause: err },
    );
  }
  const extra = (ckpt.meta as { methodExtra?: Record<string, unknown> } | undefined)?.methodExtra;
  if (extra && pipeline.method.setExtraState) pipeline.method.setExtraState(extra);
  return { path: ckpt.path, name: ckpt.name, step: ckpt.step, meta: ckpt.meta };
}

/** What a loaded checkpoint was (its tensors are in the model by then). */
export type LoadedCheckpointInfo = Omit<LoadedCheckpoint, 'tensors'>;

export function configToYaml(config: SelfsupConfig): string {
  return YAML.stringify(config);
}

/** Opens the session of a trained run: its checkpoint, its config (or another), the weights loaded. */
export async function openCheckpointSession(opts: {
  checkpoint: string;
  config?: string;
  set?: string[];
  backend?: string;
  plugin?: string[];
}): Promise<
  Session & {
    located: { file: string; runDir: string; configPath: string };
    checkpoint: LoadedCheckpointInfo;
  }
> {
  const located = await locateCheckpoint(opts.checkpoint);
  const configPath = opts.config ?? located.configPath;
  // A lone checkpoint (downloaded from the web page) carries its resolved config.
  const config =
    opts.config === undefined && located.embeddedConfig
      ? withPluginFlags(
          parseConfig(
            applyOverrides(located.embeddedConfig, opts.set ?? []),
            configSource(configPath, opts.set),
          ),
          opts.plugin ?? [],
        )
      : await loadConfig(configPath, opts.set, opts.plugin);
  const session = await openSession(config, {
    backend: opts.backend,
    source: configSource(configPath, opts.set),
    configPath,
  });
  let checkpoint: LoadedCheckpointInfo;
  try {
    checkpoint = await loadModelWeights(session.pipeline, located.file, configPath);
  } catch (err) {
    session.pipeline.dispose();
    throw err;
  }
  return { ...session, located, checkpoint };
}
