import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import YAML from 'yaml';
import { combinationName, readManifest, type GridAxis, type SweepManifest } from './plan';

/** Where a run stands on disk. */
export type RunStatus = 'done' | 'partial' | 'pending';

/** What one run directory says about its run: final.json's scores and metrics.jsonl's curve. */
export interface RunResult {
  name: string;
  dir: string;
  combination: Record<string, string>;
  seed: number;
  status: RunStatus;
  /** Epochs in metrics.jsonl. */
  epochs: number;
  knn?: number;
  knnUntrained?: number;
  /** kNN of the raw pixels of the same images (absent in final.json of older runs). */
  knnPixels?: number;
  linear?: number;
  lastLoss?: number;
  /** Best monitored kNN over the epochs, and its epoch. */
  peakKnn?: number;
  peakEpoch?: number;
  /** maps_lift of the last epoch that measured it (alignment-map mass on the object / object area). */
  mapsLift?: number;
  /** Monitored kNN and maps lift per epoch that measured them: [epoch, value]. */
  knnCurve: Array<[number, number]>;
  liftCurve: Array<[number, number]>;
}

/** Mean and sample standard deviation (n - 1; undefined below two values) of the defined values. */
export interface Stat {
  mean: number;
  std?: number;
  n: number;
}

/** One combination of grid values over its seeds. */
export interface CombinationSummary {
  name: string;
  combination: Record<string, string>;
  seeds: number[];
  /** Finished seeds (final.json present): the statistics are over these. */
  done: number;
  knn?: Stat;
  knnUntrained?: Stat;
  knnPixels?: Stat;
  /** kNN minus the same seed's untrained kNN. */
  gain?: Stat;
  linear?: Stat;
  lastLoss?: Stat;
  mapsLift?: Stat;
}

export interface SweepResults {
  dir: string;
  grid: GridAxis[];
  command?: string;
  config?: string;
  set: string[];
  runs: RunResult[];
  combinations: CombinationSummary[];
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

async function readJson(path: string): Promise<Record<string, unknown> | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined; // A half-written file of a run that is still going: treated as absent.
  }
}

async function readMetrics(path: string): Promise<Array<Record<string, unknown>>> {
  if (!existsSync(path)) return [];
  const rows: Array<Record<string, unknown>> = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (line.trim() === '') continue;
    try {
      rows.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // The last line of a run killed while appending it.
    }
  }
  return rows;
}

const hasCheckpoint = (dir: string) =>
  existsSync(join(dir, 'checkpoints')) &&
  readdirSync(join(dir, 'checkpoints')).some((f) => /^checkpoint-\d+\.safetensors$/.test(f));

/** Reads one run directory. */
export async function readRun(
  dir: string,
  name: string,
  combination: Record<string, string>,
  seed: number,
): Promise<RunResult> {
  const final = await readJson(join(dir, 'final.json'));
  const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
  const status: RunStatus = final ? 'done' : hasCheckpoint(dir) || metrics.length > 0 ? 'partial' : 'pending';
  let peakKnn: number | undefined;
  let peakEpoch: number | undefined;
  let mapsLift: number | undefined;
  const knnCurve: Array<[number, number]> = [];
  const liftCurve: Array<[number, number]> = [];
  for (const m of metrics) {
    const epoch = num(m.epoch) ?? 0;
    const knn = num(m.knn);
    if (knn !== undefined) knnCurve.push([epoch, knn]);
    if (num(m.maps_lift) !== undefined) liftCurve.push([epoch, num(m.maps_lift)!]);
    if (knn !== undefined && (peakKnn === undefined || knn > peakKnn)) {
      peakKnn = knn;
      peakEpoch = num(m.epoch);
    }
    mapsLift = num(m.maps_lift) ?? mapsLift;
  }
  return {
    name,
    dir,
    combination,
    seed,
    status,
    epochs: metrics.length,
    knn: num(final?.knn),
    knnUntrained: num(final?.knnUntrained),
    knnPixels: num(final?.knnPixels),
    linear: num(final?.linear),
    lastLoss: num(final?.lastLoss) ?? num(metrics.at(-1)?.loss),
    peakKnn,
    peakEpoch,
    mapsLift,
    knnCurve,
    liftCurve,
  };
}

export function stat(values: Array<number | undefined>): Stat | undefined {
  const xs = values.filter((v): v is number => v !== undefined);
  if (xs.length === 0) return undefined;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  if (xs.length < 2) return { mean, n: 1 };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
  return { mean, std: Math.sqrt(variance), n: xs.length };
}

export function summarise(runs: RunResult[]): CombinationSummary[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const key = combinationName(r.combination);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.entries()].map(([name, rs]) => {
    const done = rs.filter((r) => r.status === 'done');
    return {
      name,
      combination: rs[0].combination,
      seeds: rs.map((r) => r.seed),
      done: done.length,
      knn: stat(done.map((r) => r.knn)),
      knnUntrained: stat(done.map((r) => r.knnUntrained)),
      knnPixels: stat(done.map((r) => r.knnPixels)),
      gain: stat(
        done.map((r) =>
          r.knn !== undefined && r.knnUntrained !== undefined ? r.knn - r.knnUntrained : undefined,
        ),
      ),
      linear: stat(done.map((r) => r.linear)),
      lastLoss: stat(done.map((r) => r.lastLoss)),
      mapsLift: stat(done.map((r) => r.mapsLift)),
    };
  });
}

/** The results of a sweep directory from its sweep.json and each run's files. */
export async function resultsFromManifest(dir: string, manifest: SweepManifest): Promise<SweepResults> {
  const runs = await Promise.all(
    manifest.runs.map((r) => readRun(join(dir, r.name), r.name, r.combination, r.seed)),
  );
  return {
    dir,
    grid: manifest.grid,
    command: manifest.command,
    config: manifest.config,
    set: manifest.set,
    runs,
    combinations: summarise(runs),
  };
}

/** Every key path and leaf value of a resolved config, e.g. `optimizer.lr` -> `0.06`. */
function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** Settings that say nothing about what a run learns: they never make runs different combinations. */
const NOT_A_SETTING =
  /^train\.(seed|quiet|workers|threads|checkpointEvery|keepCheckpoints|knnEvery|mapsEvery)$|^backend$/;

/**
 * The results of run directories without a sweep.json (a folder of `selfsup train --out`
 * runs): each subfolder with a config.yaml is a run; the config keys whose values differ
 * between runs (other than the seed) make the grid, and runs equal in them are one combination.
 */
export async function resultsFromRunDirs(dir: string): Promise<SweepResults> {
  const entries = readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory() && existsSync(join(dir, name, 'config.yaml')))
    .sort();
  if (entries.length === 0) {
    throw new Error(
      `--collect ${dir}: no sweep.json and no run directories (subfolders with a config.yaml) in it`,
    );
  }
  const configs: Array<Record<string, string>> = [];
  for (const name of entries) {
    const path = join(dir, name, 'config.yaml');
    try {
      configs.push(flatten(YAML.parse(await readFile(path, 'utf8'))));
    } catch (err) {
      throw new Error(`--collect ${dir}: ${path} is not valid YAML (${(err as Error).message})`);
    }
  }
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))]
    .filter((k) => !NOT_A_SETTING.test(k) && new Set(configs.map((c) => c[k])).size > 1)
    .sort();
  const grid: GridAxis[] = keys.map((key) => ({
    key,
    values: [...new Set(configs.map((c) => c[key] ?? 'unset'))],
  }));
  const runs = await Promise.all(
    entries.map((name, i) => {
      const combination = Object.fromEntries(keys.map((k) => [k, configs[i][k] ?? 'unset']));
      return readRun(join(dir, name), name, combination, Number(configs[i]['train.seed'] ?? 0));
    }),
  );
  return { dir, grid, set: [], runs, combinations: summarise(runs) };
}

/** A sweep directory's results: from its sweep.json if it has one, else from its run directories. */
export async function collectResults(dir: string): Promise<SweepResults> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`--collect ${dir}: no such folder`);
  const manifest = await readManifest(dir);
  return manifest ? resultsFromManifest(dir, manifest) : resultsFromRunDirs(dir);
}
