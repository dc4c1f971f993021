import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One `--grid key=v1,v2` flag: a config key path and the values it takes (as typed, parsed as
 * YAML by --set; commas inside [] or {} or quotes do not split values).
 */
export interface GridAxis {
  key: string;
  values: string[];
}

/** One run of a sweep: a combination of grid values and a seed, in its own run directory. */
export interface SweepRun {
  /** Position in the job array (Slurm array index, Kubernetes completion index). */
  index: number;
  /** Run directory name inside the sweep directory. */
  name: string;
  /** Grid key -> value of this run. */
  combination: Record<string, string>;
  seed: number;
  /** Every --set this run's `selfsup train` gets: the sweep's own, the combination's, the seed. */
  set: string[];
}

/** sweep.json: what a sweep directory holds, written before any run starts (and by --emit). */
export interface SweepManifest {
  version: 1;
  /** Config file as given on the command line (relative to the directory the sweep ran from). */
  config: string;
  /** --set overrides shared by every run. */
  set: string[];
  grid: GridAxis[];
  seeds: number[];
  /** The command that made the sweep, for the table's header. */
  command: string;
  runs: SweepRun[];
}

export const MANIFEST = 'sweep.json';

/** Parses `--grid key.path=v1,v2,...` flags; errors name the flag and value at fault. */
export function parseGrid(specs: string[]): GridAxis[] {
  const axes: GridAxis[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const key = eq > 0 ? spec.slice(0, eq).trim() : '';
    if (!key || key.split('.').some((p) => p === '')) {
      throw new Error(`--grid ${spec}: expected key.path=value1,value2,... (e.g. optimizer.lr=0.03,0.06)`);
    }
    if (key === 'train.seed') {
      throw new Error(`--grid ${spec}: seeds are given with --seeds (e.g. --seeds 0,1,2), not --grid`);
    }
    const values = splitValues(spec.slice(eq + 1)).map((v) => v.trim());
    if (values.some((v) => v === '')) {
      throw new Error(`--grid ${spec}: empty value in the list; expected key.path=value1,value2,...`);
    }
    if (new Set(values).size !== values.length) throw new Error(`--grid ${spec}: a value is listed twice`);
    if (axes.some((a) => a.key === key))
      throw new Error(`--grid ${spec}: key '${key}' is already in another --grid`);
    axes.push({ key, values });
  }
  return axes;
}

/**
 * Splits a value list at the commas outside brackets and quotes, so YAML lists and mappings
 * can be grid values: `[4,8],[8,16]` is two values.
 */
function splitValues(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '{') depth++;
    else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(list.slice(start, i));
      start = i + 1;
    }
  }
  out.push(list.slice(start));
  return out;
}

/** Parses `--seeds 0,1,2` (non-negative integers, no repeats). */
export function parseSeeds(spec: string): number[] {
  const seeds = spec.split(',').map((s) => s.trim());
  const bad = seeds.find((s) => !/^\d+$/.test(s));
  if (bad !== undefined) {
    throw new Error(`--seeds ${spec}: '${bad}' is not a non-negative integer; expected e.g. --seeds 0,1,2`);
  }
  const out = seeds.map(Number);
  if (new Set(out).size !== out.length) throw new Error(`--seeds ${spec}: a seed is listed twice`);
  return out;
}

/** Every combination of the axes' values, the first axis varying slowest. One empty combination if no axes. */
export function combinations(grid: GridAxis[]): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const axis of grid) out = out.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.key]: v })));
  return out;
}

/** Directory name of a combination: `key=value,key=value` (characters unsafe in paths become '_'). */
export function combinationName(combination: Record<string, string>): string {
  const parts = Object.entries(combination).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? 'base' : parts.join(',').replace(/[^A-Za-z0-9._=,+-]/g, '_');
}

/** The runs of a sweep: each combination x each seed, combinations first, then seeds. */
export function planRuns(grid: GridAxis[], seeds: number[], set: string[]): SweepRun[] {
  const runs: SweepRun[] = [];
  const names = new Set<string>();
  for (const combination of combinations(grid)) {
    const base = combinationName(combination);
    for (const seed of seeds) {
      const name = `${base}__seed${seed}`;
      if (names.has(name)) {
        throw new Error(
          `--grid: two combinations map to the run directory name '${name}' (values that differ only in ` +
            'characters unsafe in paths); rename one value',
        );
      }
      names.add(name);
      const gridSets = Object.entries(combination).map(([k, v]) => `${k}=${v}`);
      runs.push({
        index: runs.length,
        name,
        combination,
        seed,
        set: [...set, ...gridSets, `train.seed=${seed}`],
      });
    }
  }
  return runs;
}

export async function readManifest(dir: string): Promise<SweepManifest | undefined> {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  let value: SweepManifest;
  try {
    value = JSON.parse(await readFile(path, 'utf8')) as SweepManifest;
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (value?.version !== 1 || !Array.isArray(value.runs) || !Array.isArray(value.grid)) {
    throw new Error(`${path}: not a selfsup sweep manifest (expected version 1 with grid and runs)`);
  }
  return value;
}

/**
 * The manifest of a sweep run again into the same directory: runs of new grid values or seeds
 * are added to those already there (array indices of existing runs stay), so a sweep can grow.
 * Another config, other shared --set values or other grid keys are refused: their runs would
 * not belong in one table.
 */
export function mergeManifest(
  dir: string,
  previous: SweepManifest | undefined,
  next: SweepManifest,
): SweepManifest {
  if (!previous) return next;
  const where = `${join(dir, MANIFEST)} holds a sweep of`;
  const sameList = (a: string[], b: string[]) => JSON.stringify(a) === JSON.stringify(b);
  if (previous.config !== next.config)
    throw new Error(
      `--out ${dir}: ${where} --config ${previous.config}, not ${next.config}; choose another --out`,
    );
  if (!sameList(previous.set, next.set)) {
    throw new Error(
      `--out ${dir}: ${where} --set ${previous.set.join(' ') || '(none)'}, not ${next.set.join(' ') || '(none)'}; choose another --out`,
    );
  }
  const keys = (m: SweepManifest) => m.grid.map((a) => a.key);
  if (!sameList(keys(previous), keys(next))) {
    throw new Error(
      `--out ${dir}: ${where} grid keys ${keys(previous).join(', ') || '(none)'}, not ${keys(next).join(', ') || '(none)'}; choose another --out`,
    );
  }
  const grid = previous.grid.map((axis, i) => ({
    key: axis.key,
    values: [...axis.values, ...next.grid[i].values.filter((v) => !axis.values.includes(v))],
  }));
  const seeds = [...previous.seeds, ...next.seeds.filter((s) => !previous.seeds.includes(s))];
  const runs = [...previous.runs];
  for (const run of next.runs) {
    if (!runs.some((r) => r.name === run.name)) runs.push({ ...run, index: runs.length });
  }
  return { ...next, grid, seeds, runs };
}
