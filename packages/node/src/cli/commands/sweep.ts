import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createRegistryContainer,
  parseConfig,
  parseWith,
  resolveType,
  splitTypeSpec,
  type Registration,
  type SeamName,
  type SelfsupConfig,
} from '@selfsup/core';
import { applyOverrides, readConfigFile } from '../config-file';
import { RESOLVED_CONFIG, loadConfig, resumeBreakingChanges } from '../session';
import { loadPlugins } from '../../runtime/plugins';
import { trainCommand } from './train';
import {
  MANIFEST,
  combinationName,
  mergeManifest,
  parseGrid,
  parseSeeds,
  planRuns,
  readManifest,
  type SweepManifest,
  type SweepRun,
} from '../../sweep/plan';
import { collectResults, readRun, resultsFromManifest } from '../../sweep/results';
import { writeSweepTables } from '../../sweep/tables';
import {
  KUBERNETES_MANIFEST,
  SLURM_SCRIPT,
  kubernetesManifest,
  slurmScript,
  type EmitOptions,
} from '../../sweep/emit';

export const EMIT_KINDS = ['slurm', 'kubernetes'] as const;

export interface SweepOptions {
  config?: string;
  grid?: string[];
  seeds?: string;
  set?: string[];
  /** Runs at a time, each a `selfsup train` child process (1: one after another in this process). */
  parallel?: number;
  out?: string;
  emit?: string;
  collect?: string;
  backend?: string;
  threads?: number;
  plugin?: string[];
  quiet?: boolean;
  /** --emit slurm: extra #SBATCH lines. */
  sbatch?: string[];
  /** --emit kubernetes: container image and shared-storage claim. */
  image?: string;
  pvc?: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export async function sweepCommand(opts: SweepOptions): Promise<number> {
  if (opts.collect !== undefined) {
    const conflicting = (['config', 'grid', 'seeds', 'emit', 'parallel'] as const).filter(
      (k) => opts[k] !== undefined,
    );
    if (conflicting.length > 0) {
      throw new Error(
        `--collect ${opts.collect}: builds the table of an existing sweep; drop ${conflicting.map((k) => `--${k}`).join(', ')}`,
      );
    }
    return collect(resolve(opts.collect));
  }
  if (opts.config === undefined) throw new Error('sweep: --config FILE is required (or --collect DIR)');
  if (opts.emit !== undefined && !(EMIT_KINDS as readonly string[]).includes(opts.emit)) {
    throw new Error(`--emit ${opts.emit}: expected one of ${EMIT_KINDS.join(', ')}`);
  }
  const config = opts.config;
  const set = opts.set ?? [];
  const grid = parseGrid(opts.grid ?? []);
  const raw = await readConfigFile(config);
  const seeds = opts.seeds !== undefined ? parseSeeds(opts.seeds) : [baseSeed(raw, set, config)];
  const runs = planRuns(grid, seeds, set);
  // Every combination is checked before any run starts, so a typo in the last value does not
  // surface an hour into the sweep.
  await validateRuns(raw, config, set, runs, opts.plugin);

  const outArg = opts.out ?? join('runs', `sweep-${basename(config, extname(config))}`);
  const out = resolve(outArg);
  const merged = mergeManifest(out, await readManifest(out), {
    version: 1,
    config,
    set,
    grid,
    seeds,
    command: '',
    runs,
  });
  // The command of the whole directory (grid values and seeds of earlier invocations included).
  const manifest = { ...merged, command: commandLine(opts, outArg, merged) };
  await mkdir(out, { recursive: true });
  await writeFile(join(out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  if (opts.emit !== undefined) return emit(opts.emit as (typeof EMIT_KINDS)[number], manifest, outArg, opts);

  const todo = manifest.runs.filter((r) => runs.some((p) => p.name === r.name));
  // Before any training: a finished run that no longer matches the plan stops the sweep here.
  const states = new Map<string, RunState>();
  for (const run of todo) states.set(run.name, await runState(join(out, run.name), manifest, run));
  log(
    `sweep: ${todo.length} runs (${runs.length / seeds.length} combinations x ${seeds.length} seeds) -> ${out}`,
  );
  const failed =
    opts.parallel && opts.parallel > 1
      ? await runParallel(todo, out, manifest, opts, states)
      : await runInProcess(todo, out, manifest, opts, states);
  const results = await resultsFromManifest(out, manifest);
  const { markdown, files } = await writeSweepTables(results);
  process.stdout.write(markdown);
  log(`sweep: wrote ${files.join(', ')}`);
  if (failed.length > 0) {
    throw new Error(
      `sweep: ${failed.join('; ')}; run the same command again to retry (finished runs are skipped, ` +
        'started ones resume)',
    );
  }
  return 0;
}

async function collect(dir: string): Promise<number> {
  const results = await collectResults(dir);
  const { markdown, files } = await writeSweepTables(results);
  process.stdout.write(markdown);
  log(`sweep: wrote ${files.join(', ')}`);
  return 0;
}

/** The seed of the config (after --set) when --seeds is not given. */
function baseSeed(raw: Record<string, unknown>, set: string[], config: string): number {
  return parseConfig(applyOverrides(raw, set), sourceOf(config, set, [])).train.seed;
}

function sourceOf(config: string, set: string[], gridSets: string[]): string {
  const parts = [
    ...(set.length ? ['--set overrides'] : []),
    ...(gridSets.length ? [`--grid ${gridSets.join(', ')}`] : []),
  ];
  return parts.length ? `${config} (with ${parts.join(' and ')})` : config;
}

/**
 * Checks each combination's config as `selfsup train` would: the config schema (unknown keys
 * and bad values by key path) and the options of every named type (method, aggregator,
 * backbone, optimizer) against its registration's schema. Errors name the --grid value.
 */
async function validateRuns(
  raw: Record<string, unknown>,
  config: string,
  set: string[],
  runs: SweepRun[],
  plugins: string[] | undefined,
): Promise<void> {
  const registry = createRegistryContainer((await loadPlugins(plugins ?? [])).plugins);
  const seen = new Set<string>();
  for (const run of runs) {
    const name = combinationName(run.combination);
    if (seen.has(name)) continue;
    seen.add(name);
    const gridSets = Object.entries(run.combination).map(([k, v]) => `${k}=${v}`);
    const source = sourceOf(config, set, gridSets);
    const parsed = parseConfig(applyOverrides(raw, run.set), source);
    checkTypeOptions(registry, parsed, source);
  }
}

function checkTypeOptions(
  registry: ReturnType<typeof createRegistryContainer>,
  config: SelfsupConfig,
  source: string,
): void {
  const specs: Array<[SeamName, string, SelfsupConfig['method'] | undefined]> = [
    ['Backbone', 'backbone', config.backbone],
    ['Aggregator', 'aggregator', config.aggregator],
    ['Method', 'method', config.method],
    ['Optimizer', 'optimizer', config.optimizer],
  ];
  for (const [seam, key, spec] of specs) {
    if (spec === undefined) continue;
    const { type, options } = splitTypeSpec(spec);
    const registration = resolveType<Registration<unknown>>(registry, seam, type, `${source}: ${key}`);
    // The learning rate is the schedule's peak, read by the pipeline, not an optimizer option.
    const { lr: _lr, ...rest } = options;
    const checked = seam === 'Optimizer' ? rest : options;
    if (registration.optionsSchema)
      parseWith(registration.optionsSchema, checked, `${source} (${key} '${type}')`, key);
  }
}

/** A command a user could paste that makes every run of the sweep directory (paths as given). */
function commandLine(opts: SweepOptions, out: string, m: SweepManifest): string {
  const q = (s: string) => (/^[A-Za-z0-9_./=,:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const parts = ['selfsup', 'sweep', '--config', m.config];
  for (const a of m.grid) parts.push('--grid', `${a.key}=${a.values.join(',')}`);
  parts.push('--seeds', m.seeds.join(','));
  for (const s of m.set) parts.push('--set', s);
  if (opts.parallel !== undefined) parts.push('--parallel', String(opts.parallel));
  if (opts.backend) parts.push('--backend', opts.backend);
  if (opts.threads) parts.push('--threads', String(opts.threads));
  parts.push('--out', out);
  return parts.map(q).join(' ');
}

type RunState = 'done' | 'resume' | 'fresh';

/**
 * Finished (final.json), resumable (has a checkpoint) or fresh. A finished run trained under
 * other settings than the sweep now plans (the config file changed since) is refused, so one
 * table never mixes two recipes under one name.
 */
async function runState(dir: string, m: SweepManifest, run: SweepRun): Promise<RunState> {
  if (existsSync(join(dir, 'final.json'))) {
    const saved = join(dir, RESOLVED_CONFIG);
    if (existsSync(saved)) {
      const planned = await loadConfig(m.config, run.set);
      const before = await loadConfig(saved);
      const changed = resumeBreakingChanges(before, planned);
      if (changed.length > 0) {
        throw new Error(
          `sweep: run ${dir} finished under other settings than planned: ${changed.join(', ')}; ` +
            'delete that run directory to train it again, or choose another --out',
        );
      }
      const length = (c: SelfsupConfig) =>
        `train.epochs=${c.train.epochs}, train.maxSteps=${c.train.maxSteps ?? 'unset'}`;
      if (length(before) !== length(planned)) {
        log(
          `sweep: note: ${dir} finished with ${length(before)}, the sweep plans ${length(planned)}; ` +
            'kept as it is (delete its final.json to continue it with --resume)',
        );
      }
    }
    return 'done';
  }
  const ck = join(dir, 'checkpoints');
  const has = existsSync(ck) && readdirSync(ck).some((f) => /^checkpoint-\d+\.safetensors$/.test(f));
  return has ? 'resume' : 'fresh';
}

function trainArgs(
  run: SweepRun,
  out: string,
  m: SweepManifest,
  opts: SweepOptions,
  resume: boolean,
): string[] {
  return [
    'train',
    '--config',
    m.config,
    ...run.set.flatMap((s) => ['--set', s]),
    '--out',
    join(out, run.name),
    ...(resume ? ['--resume'] : []),
    ...(opts.backend ? ['--backend', opts.backend] : []),
    ...(opts.threads ? ['--threads', String(opts.threads)] : []),
    ...(opts.plugin ?? []).flatMap((p) => ['--plugin', p]),
    ...(opts.quiet ? ['-q'] : []),
  ];
}

async function describeDone(run: SweepRun, out: string): Promise<string> {
  const r = await readRun(join(out, run.name), run.name, run.combination, run.seed);
  const pct = (v?: number) => (v === undefined ? 'n/a' : `${v.toFixed(2)}%`);
  return `kNN ${pct(r.knn)} (untrained ${pct(r.knnUntrained)}, raw pixels ${pct(r.knnPixels)}), linear ${pct(r.linear)}`;
}

/** Runs one after another in this process: `selfsup train` exactly, with the run's --set values. */
async function runInProcess(
  todo: SweepRun[],
  out: string,
  m: SweepManifest,
  opts: SweepOptions,
  states: Map<string, RunState>,
): Promise<string[]> {
  const failed: string[] = [];
  for (const [i, run] of todo.entries()) {
    const dir = join(out, run.name);
    const state = states.get(run.name)!;
    const tag = `sweep [${i + 1}/${todo.length}] ${run.name}`;
    if (state === 'done') {
      log(`${tag}: finished before (final.json), skipped`);
      continue;
    }
    log(`${tag}: ${state === 'resume' ? 'resuming from its last checkpoint' : 'starting'}`);
    try {
      await trainCommand({
        config: m.config,
        set: run.set,
        out: dir,
        resume: state === 'resume',
        backend: opts.backend,
        threads: opts.threads,
        plugin: opts.plugin,
        quiet: opts.quiet,
      });
      log(`${tag}: ${await describeDone(run, out)}`);
    } catch (err) {
      log(`${tag}: failed: ${(err as Error).message}`);
      failed.push(`${run.name} failed (${(err as Error).message.split('\n')[0]})`);
    }
  }
  return failed;
}

/**
 * How a child process runs `selfsup`: the built CLI (dist/cli.js beside this module), or, from
 * the TypeScript sources (vitest, tsx), a launcher that registers tsx first.
 */
export function selfsupChildEntry(): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) return [fileURLToPath(new URL('../ts-cli.mjs', here))];
  for (const rel of ['./cli.js', '../cli.js']) {
    const file = fileURLToPath(new URL(rel, here));
    if (existsSync(file)) return [file];
  }
  throw new Error(`sweep --parallel: the CLI entry cli.js is missing next to ${fileURLToPath(here)}`);
}

/**
 * Up to `parallel` runs at a time, each a `selfsup train` child process writing its output to
 * <sweep>/logs/<run>.log. Threads per run default to the cores shared out. After SIGINT or
 * SIGTERM no new run starts; the next sweep resumes the stopped ones from their checkpoints.
 */
async function runParallel(
  todo: SweepRun[],
  out: string,
  m: SweepManifest,
  opts: SweepOptions,
  states: Map<string, RunState>,
): Promise<string[]> {
  const parallel = opts.parallel ?? 1;
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / parallel));
  const childOpts = { ...opts, threads, quiet: true };
  const entry = selfsupChildEntry();
  await mkdir(join(out, 'logs'), { recursive: true });
  const children = new Set<ReturnType<typeof spawn>>();
  // Ctrl-C reaches the children through the terminal's process group already; a TERM sent to
  // this process alone (a scheduler, `kill`) is passed on. Either way no new run starts.
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy = signal;
    if (signal === 'SIGTERM') for (const c of children) c.kill(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const failed: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length && stoppedBy === undefined) {
      const i = next++;
      const run = todo[i];
      const tag = `sweep [${i + 1}/${todo.length}] ${run.name}`;
      const state = states.get(run.name)!;
      if (state === 'done') {
        log(`${tag}: finished before (final.json), skipped`);
        continue;
      }
      const logFile = join(out, 'logs', `${run.name}.log`);
      log(`${tag}: ${state === 'resume' ? 'resuming' : 'starting'} (log: ${logFile})`);
      const handle = await open(logFile, 'a');
      try {
        const child = spawn(
          process.execPath,
          [...entry, ...trainArgs(run, out, m, childOpts, state === 'resume')],
          {
            stdio: ['ignore', handle.fd, handle.fd],
          },
        );
        children.add(child);
        const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
          (res, rej) => {
            child.on('error', rej);
            child.on('exit', (c, s) => res({ code: c, signal: s }));
          },
        );
        children.delete(child);
        if (code === 0) log(`${tag}: ${await describeDone(run, out)}`);
        else {
          const why = signal ? `killed by ${signal}` : `exit status ${code}`;
          log(`${tag}: failed (${why}); see ${logFile}`);
          failed.push(`${run.name} failed (${why}, log ${logFile})`);
        }
      } finally {
        await handle.close();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, todo.length) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stoppedBy !== undefined) failed.push(`stopped by ${stoppedBy} before the remaining runs`);
  return failed;
}

async function emit(
  kind: (typeof EMIT_KINDS)[number],
  m: SweepManifest,
  outArg: string,
  opts: SweepOptions,
): Promise<number> {
  const out = resolve(outArg);
  const o: EmitOptions = {
    sweepDir: outArg,
    name: `selfsup-${basename(out)}`,
    parallel: opts.parallel,
    threads: opts.threads,
    backend: opts.backend,
    plugins: opts.plugin,
    sbatch: opts.sbatch,
    image: opts.image,
    pvc: opts.pvc,
  };
  const file = join(out, kind === 'slurm' ? SLURM_SCRIPT : KUBERNETES_MANIFEST);
  if (kind === 'slurm') {
    // Slurm opens --output before the script runs: the folder must exist already.
    await mkdir(join(out, 'logs'), { recursive: true });
    await writeFile(file, slurmScript(m, o), { mode: 0o755 });
  } else {
    await writeFile(file, kubernetesManifest(m, o));
  }
  const submit =
    kind === 'slurm'
      ? `sbatch ${join(outArg, SLURM_SCRIPT)}`
      : `kubectl apply -f ${join(outArg, KUBERNETES_MANIFEST)}`;
  process.stdout.write(
    `${file}\n` +
      `${m.runs.length} runs (indices 0-${m.runs.length - 1}); from ${process.cwd()}: ${submit}\n` +
      `then: selfsup sweep --collect ${outArg}\n`,
  );
  return 0;
}
