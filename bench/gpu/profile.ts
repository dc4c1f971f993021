/**
 * Where a training step's time goes, by kernel, and what fused BatchNorm and L2-normalise
 * kernels could save at most: the measurement issue #9 asks for before writing webgpu versions
 * of the kernels selfsup fuses on wasm.
 *
 * For one method at one shape it runs, after a warm-up step:
 * - one step under tf.profile() per variant: kernel names, counts, bytes, and kernelTimeMs
 *   where the backend times kernels (webgpu: the 'timestamp-query' feature, which the provider
 *   requests when the adapter offers it; each timed kernel then gets its own compute pass and
 *   read-back, so a profiled step's wall time means nothing and is not reported);
 * - `rounds` timed steps per variant, interleaved (generic, bn_free, l2_free, generic, ...), so
 *   that a shared machine's load drifts over all variants alike.
 *
 * The variants: `generic` is the product as it runs on this backend (core's op chains where the
 * backend registers no fused kernel). `bn_free` and `l2_free` register, for this measurement
 * only, stand-ins under core's BATCH_NORM_TRAIN(_GRAD) and L2_NORMALIZE(_GRAD) kernel names that
 * do no work (outputs alias inputs: no dispatch, no pass over memory). The step-time difference
 * is an upper bound on what a fused kernel can save: a real one still makes a pass or two. The
 * stand-ins change the numbers the step computes (y = x), not which kernels the rest of the
 * step runs, so the step here skips trainStepAsync's finite-loss check (the optimizer step runs
 * either way). BatchNorm's running-statistics update stays outside the kernels in core (also on
 * wasm); its kernels are counted from the profiled generic step by call site.
 *
 * The kernels of each group are the generic step's kernels that the stand-in step does not run
 * (see groupRecords), with their own kernelTimeMs.
 */
import {
  applyGradients,
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  BENCH_MODEL,
  createPipeline,
  disposeLossAndGrads,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  lossAndGrads,
  tf,
  type Plugin,
  type SelectedBackend,
} from '@selfsup/core';
import { benchConfig, benchViews } from '@selfsup/node';
import type { DependencyContainer } from 'tsyringe';

export interface ProfileOptions {
  method: string;
  width: number;
  res: number;
  batch: number;
  /** Timed steps per variant. */
  rounds: number;
  /** Kernels listed per table. */
  top?: number;
  /** What the generic variant runs: the backend with selfsup's kernels, or its stock ones. */
  kernels?: 'selfsup' | 'stock';
}

type Variant = 'generic' | 'bn_free' | 'l2_free';
const VARIANTS: readonly Variant[] = ['generic', 'bn_free', 'l2_free'];

interface KernelTotals {
  count: number;
  ms: number;
  bytesAdded: number;
}

type ByName = Map<string, KernelTotals>;

interface ProfiledStep {
  records: KernelRecord[];
  kernels: number;
  kernelMs: number;
  /** Kernels called from BatchNorm's running-statistics update (by call site). */
  runningStats: KernelTotals;
  loss: number;
}

// ------------------------------------------------------------------ the stand-ins (measurement only)

interface RefCounting {
  incRef(dataId: unknown): void;
}

/** An output that is `t` itself (shape as given): what tfjs's Identity does, no dispatch. */
function alias(backend: unknown, t: tf.TensorInfo, shape: number[] = t.shape): tf.TensorInfo {
  (backend as RefCounting).incRef(t.dataId);
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

const STAND_INS: Record<Exclude<Variant, 'generic'>, Array<Omit<tf.KernelConfig, 'backendName'>>> = {
  bn_free: [
    {
      kernelName: BATCH_NORM_TRAIN,
      // [y, mean, variance, invStd]: x, and [C] vectors that already exist (beta, gamma).
      kernelFunc: ({ inputs, backend }) => {
        const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
        return [alias(backend, x), alias(backend, beta), alias(backend, gamma), alias(backend, gamma)];
      },
    },
    {
      kernelName: BATCH_NORM_TRAIN_GRAD,
      // [dx, dGamma, dBeta]
      kernelFunc: ({ inputs, backend }) => {
        const { dy, gamma, mean } = inputs as Record<string, tf.TensorInfo>;
        return [alias(backend, dy), alias(backend, gamma), alias(backend, mean)];
      },
    },
  ],
  l2_free: [
    {
      kernelName: L2_NORMALIZE,
      // [y, norm]. norm is only saved for the stand-in gradient, which ignores it; it aliases x
      // under norm's shape so that the step's other kernels (the tape's copies) keep theirs.
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x } = inputs as Record<string, tf.TensorInfo>;
        const axis = (attrs as { axis: number }).axis;
        const normShape = x.shape.map((d, i) => (i === axis ? 1 : d));
        return [alias(backend, x), alias(backend, x, normShape)];
      },
    },
    {
      kernelName: L2_NORMALIZE_GRAD,
      kernelFunc: ({ inputs, backend }) => alias(backend, (inputs as Record<string, tf.TensorInfo>).dy),
    },
  ],
};

/** Registers a variant's stand-ins over whatever the backend has; returns the undo. */
function useVariant(variant: Variant, backendName: string): () => void {
  if (variant === 'generic') return () => {};
  const saved: tf.KernelConfig[] = [];
  for (const k of STAND_INS[variant]) {
    const current = tf.getKernel(k.kernelName, backendName);
    if (current != null) {
      saved.push(current);
      tf.unregisterKernel(k.kernelName, backendName);
    }
    tf.registerKernel({ ...k, backendName });
  }
  return () => {
    for (const k of STAND_INS[variant]) tf.unregisterKernel(k.kernelName, backendName);
    for (const k of saved) tf.registerKernel(k);
  };
}

// ------------------------------------------------------------------ call-site tags

/**
 * Tags each profile record whose kernel was called from BatchNorm's updateRunningStats, by the
 * call stack (method names survive esbuild's --keep-names). Wraps the engine's runKernelFunc,
 * which pushes its profile record last: the record at the end after it returns is its own.
 */
function tagRunningStats(): { tagged: WeakSet<object>; restore(): void } {
  const engine = tf.engine() as unknown as {
    runKernelFunc: (...a: unknown[]) => unknown;
    state: { activeProfile: { kernels: object[] } };
  };
  const original = engine.runKernelFunc;
  const tagged = new WeakSet<object>();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  engine.runKernelFunc = function (this: unknown, ...args: unknown[]) {
    const fromStats = new Error().stack?.includes('updateRunningStats') ?? false;
    const kernels = engine.state.activeProfile.kernels;
    const before = kernels.length;
    const out = original.apply(this, args);
    if (fromStats && kernels.length > before) tagged.add(kernels[kernels.length - 1]);
    return out;
  };
  return {
    tagged,
    restore() {
      engine.runKernelFunc = original;
      Error.stackTraceLimit = limit;
    },
  };
}

// ------------------------------------------------------------------ dispatch count (webgpu)

/** Counts GPU programs (compute dispatches) run through tfjs-backend-webgpu's runWebGPUProgram. */
function countPrograms(backend: tf.KernelBackend): { read(): number; restore(): void } {
  const b = backend as unknown as { runWebGPUProgram?: (...a: unknown[]) => unknown };
  const original = b.runWebGPUProgram;
  let n = 0;
  if (typeof original !== 'function') return { read: () => Number.NaN, restore: () => {} };
  b.runWebGPUProgram = function (this: unknown, ...args: unknown[]) {
    n++;
    return original.apply(this, args);
  };
  return {
    read: () => n,
    restore: () => {
      b.runWebGPUProgram = original;
    },
  };
}

// ------------------------------------------------------------------ the run

export interface ProfileResult {
  method: string;
  backend: string;
  device?: string;
  width: number;
  res: number;
  batch: number;
  rounds: number;
  kernel_timer: string;
  kernels: 'selfsup' | 'stock';
  variants: Record<
    Variant,
    {
      step_s: number;
      steps_s: number[];
      programs?: number;
      kernels: number;
      kernel_ms: number;
      /** The last round's: the stand-ins' steps alter the weights, so it is no training result. */
      loss: number;
    }
  >;
  groups: Record<
    string,
    {
      kernels: number;
      kernel_ms: number;
      kernel_share: number;
      alignment_misses?: number;
      step_saved_s?: number;
      step_share?: number;
    }
  >;
  top: Array<{ name: string; count: number; ms: number; share: number }>;
  bn_kernels: Array<{ name: string; count: number; ms: number }>;
  l2_kernels: Array<{ name: string; count: number; ms: number }>;
}

export async function runProfile(
  opts: ProfileOptions,
  runtime: { plugins: Plugin[]; registry: DependencyContainer; backend: SelectedBackend },
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<ProfileResult> {
  const backendName = tf.getBackend();
  const config = benchConfig(runtime.registry, opts.method, opts.width);
  const pipeline = createPipeline(config, { plugins: runtime.plugins });
  const { method, optimizer } = pipeline;
  // The same views as `selfsup bench`.
  const [v1, v2] = benchViews(opts.batch, opts.res);
  const fence = method.trainableParameters()[0].variable;
  /** trainStepAsync without its finite-loss check (see the header); returns the loss. */
  const step = async (): Promise<number> => {
    const r = lossAndGrads(method, v1, v2);
    try {
      const [loss] = await r.loss.data();
      applyGradients(method, optimizer, r.grads, { lr: pipeline.baseLr, momentum: BENCH_MODEL.ema });
      await fence.data();
      return loss;
    } finally {
      disposeLossAndGrads(r);
    }
  };
  const programs = countPrograms(tf.backend());
  let timer = 'wall clock per kernel (backend timer)';
  if (backendName === 'webgpu') {
    const ts = (tf.backend() as unknown as { supportTimestampQuery?: boolean }).supportTimestampQuery;
    timer = ts ? 'timestamp-query' : 'none (no timestamp-query: kernel times are 0)';
  }
  const profiled = {} as Record<Variant, ProfiledStep>;
  const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
  const progs = {} as Record<Variant, number>;
  const losses = {} as Record<Variant, number>;
  try {
    const t0 = performance.now();
    await step();
    log(`${opts.method}: warm-up step ${((performance.now() - t0) / 1000).toFixed(2)} s`);
    for (const variant of VARIANTS) {
      const undo = useVariant(variant, backendName);
      const tags = tagRunningStats();
      try {
        let loss = Number.NaN;
        const info = await tf.profile(async () => {
          loss = await step();
        });
        const records = registered(info.kernels, backendName);
        profiled[variant] = {
          records,
          kernels: records.length,
          kernelMs: sumOf(records).ms,
          runningStats: sumOf(records.filter((r) => tags.tagged.has(r))),
          loss,
        };
      } finally {
        tags.restore();
        undo();
      }
      log(`${opts.method}: profiled ${variant}: ${profiled[variant].kernels} kernels`);
    }
    for (let r = 0; r < opts.rounds; r++) {
      for (const variant of VARIANTS) {
        const undo = useVariant(variant, backendName);
        try {
          const p0 = programs.read();
          const t = performance.now();
          losses[variant] = await step();
          times[variant].push((performance.now() - t) / 1000);
          progs[variant] = programs.read() - p0;
        } finally {
          undo();
        }
      }
      log(
        `${opts.method}: round ${r + 1}: ${VARIANTS.map((v) => `${v} ${times[v][r].toFixed(3)} s`).join(', ')}`,
      );
    }
  } finally {
    programs.restore();
    tf.dispose([v1, v2]);
    pipeline.dispose();
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const h = Math.floor(s.length / 2);
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  const generic = profiled.generic;
  const stepGeneric = median(times.generic);
  const groups = {
    bn_free: groupRecords(
      generic.records,
      profiled.bn_free.records,
      new Set([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD]),
    ),
    l2_free: groupRecords(
      generic.records,
      profiled.l2_free.records,
      new Set([L2_NORMALIZE, L2_NORMALIZE_GRAD]),
    ),
  };
  const group = (totals: KernelTotals, free?: Exclude<Variant, 'generic'>, misses?: number) => {
    const saved = free ? stepGeneric - median(times[free]) : undefined;
    return {
      kernels: totals.count,
      kernel_ms: round(totals.ms, 3),
      kernel_share: round(totals.ms / generic.kernelMs, 4),
      ...(misses !== undefined && { alignment_misses: misses }),
      ...(saved !== undefined && {
        step_saved_s: round(saved, 4),
        step_share: round(saved / stepGeneric, 4),
      }),
    };
  };
  const list = (m: ByName, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1].ms - a[1].ms || b[1].count - a[1].count)
      .slice(0, n)
      .map(([name, t]) => ({ name, count: t.count, ms: round(t.ms, 3) }));
  const device = (await runtime.backend.provider.probe().catch(() => undefined))?.device;
  const result: ProfileResult = {
    method: opts.method,
    backend: backendName,
    ...(device !== undefined && { device }),
    width: opts.width,
    res: opts.res,
    batch: opts.batch,
    rounds: opts.rounds,
    kernel_timer: timer,
    kernels: opts.kernels ?? 'selfsup',
    variants: Object.fromEntries(
      VARIANTS.map((v) => [
        v,
        {
          step_s: round(median(times[v]), 4),
          steps_s: times[v].map((t) => round(t, 4)),
          ...(Number.isFinite(progs[v]) && { programs: progs[v] }),
          kernels: profiled[v].kernels,
          kernel_ms: round(profiled[v].kernelMs, 3),
          loss: losses[v],
        },
      ]),
    ) as ProfileResult['variants'],
    groups: {
      batchnorm: group(sumOf(groups.bn_free.records), 'bn_free', groups.bn_free.misses),
      batchnorm_running_stats: group(generic.runningStats),
      l2_normalize: group(sumOf(groups.l2_free.records), 'l2_free', groups.l2_free.misses),
    },
    top: list(totalsByName(generic.records), opts.top ?? 12).map((k) => ({
      ...k,
      share: round(k.ms / generic.kernelMs, 4),
    })),
    bn_kernels: list(totalsByName(groups.bn_free.records), 30),
    l2_kernels: list(totalsByName(groups.l2_free.records), 30),
  };
  for (const line of table(result)) log(line);
  return result;
}

interface KernelRecord {
  name: string;
  kernelTimeMs: unknown;
  bytesAdded: number;
  inputShapes: Array<number[] | null>;
  outputShapes: number[][];
}

/** Records of registered kernels (customGrad scopes nest kernels: left out). */
function registered(records: unknown[], backendName: string): KernelRecord[] {
  return (records as KernelRecord[]).filter((r) => tf.getKernel(r.name, backendName) != null);
}

const msOf = (r: KernelRecord) => (typeof r.kernelTimeMs === 'number' ? r.kernelTimeMs : 0);
const signature = (r: KernelRecord) =>
  `${r.name}|${JSON.stringify(r.inputShapes)}|${JSON.stringify(r.outputShapes)}`;

function totalsByName(records: KernelRecord[]): ByName {
  const byName: ByName = new Map();
  for (const r of records) {
    const t = byName.get(r.name) ?? { count: 0, ms: 0, bytesAdded: 0 };
    t.count++;
    t.ms += msOf(r);
    t.bytesAdded += r.bytesAdded;
    byName.set(r.name, t);
  }
  return byName;
}

function sumOf(records: KernelRecord[]): KernelTotals {
  return records.reduce(
    (t, r) => ({ count: t.count + 1, ms: t.ms + msOf(r), bytesAdded: t.bytesAdded + r.bytesAdded }),
    { count: 0, ms: 0, bytesAdded: 0 },
  );
}

/**
 * The generic step's records that the stand-in step does not run. The stand-in step's kernels
 * are the generic step's with the group's taken out (same order, same shapes), up to what
 * changes from one step to the next (MoCo's queue slices move with its pointer): the longest
 * common subsequence by name and shapes matches them, and the generic records left over are the
 * group's, except one of the same name as a stand-in record left unmatched (the same kernel at
 * other shapes). The group's own kernel names (a backend's fused kernels, and the stand-ins)
 * always belong to it. `misses`: stand-in records left unmatched with no such partner (0 when
 * the steps differ only by the group).
 */
function groupRecords(
  generic: KernelRecord[],
  free: KernelRecord[],
  groupKernels: Set<string>,
): { records: KernelRecord[]; misses: number } {
  const codes = new Map<string, number>();
  const code = (r: KernelRecord) => {
    const sig = signature(r);
    let c = codes.get(sig);
    if (c === undefined) codes.set(sig, (c = codes.size));
    return c;
  };
  const g = generic.filter((r) => !groupKernels.has(r.name));
  const a = Int32Array.from(g, code);
  const b = Int32Array.from(
    free.filter((r) => !groupKernels.has(r.name)),
    code,
  );
  const n = a.length;
  const m = b.length;
  // lcs[i * (m + 1) + j]: the LCS length of a[i:] and b[j:].
  const lcs = new Uint16Array((n + 1) * (m + 1));
  if (Math.min(n, m) >= 65535) throw new Error('profile: too many kernels in one step to align');
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const k = i * (m + 1) + j;
      lcs[k] = a[i] === b[j] ? lcs[k + m + 2] + 1 : Math.max(lcs[k + m + 1], lcs[k + 1]);
    }
  }
  const own = generic.filter((r) => groupKernels.has(r.name));
  // Left-over generic records (index into g) and unmatched stand-in records (with the generic
  // index where they fell).
  const left: number[] = [];
  const missed: Array<{ at: number; name: string }> = [];
  const bFree = free.filter((r) => !groupKernels.has(r.name));
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    const k = i * (m + 1) + j;
    if (i < n && j < m && a[i] === b[j]) {
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[k + m + 1] >= lcs[k + 1])) {
      left.push(i++);
    } else {
      missed.push({ at: i, name: bFree[j++].name });
    }
  }
  // A kernel both steps ran with other shapes (a queue slice at another pointer) is not the
  // group's: pair each unmatched stand-in record with the nearest left-over one of its name.
  const paired = new Set<number>();
  let misses = 0;
  for (const miss of missed) {
    let best = -1;
    for (const x of left) {
      if (paired.has(x) || g[x].name !== miss.name) continue;
      if (best < 0 || Math.abs(x - miss.at) < Math.abs(best - miss.at)) best = x;
    }
    if (best >= 0) paired.add(best);
    else misses++;
  }
  return { records: [...own, ...left.filter((x) => !paired.has(x)).map((x) => g[x])], misses };
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));
const pct = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '-' : `${(100 * x).toFixed(1)}%`;

function table(r: ProfileResult): string[] {
  const out = [
    `${r.method} on ${r.backend}${r.device ? ` (${r.device})` : ''}, width ${r.width}, ${r.res} px, batch ${r.batch}, ${r.kernels} kernels; kernel times: ${r.kernel_timer}`,
    `  variant   step_s (median of ${r.rounds})  programs  kernels  kernel_ms`,
  ];
  for (const v of VARIANTS) {
    const x = r.variants[v];
    out.push(
      `  ${v.padEnd(8)}  ${x.step_s.toFixed(3).padStart(10)}  ${String(x.programs ?? '-').padStart(16)}  ${String(x.kernels).padStart(7)}  ${x.kernel_ms.toFixed(1).padStart(9)}`,
    );
  }
  out.push('  group                     kernels  kernel_ms  of kernel time  step saved (A/B)  of step');
  for (const [name, g] of Object.entries(r.groups)) {
    out.push(
      `  ${name.padEnd(24)}  ${String(g.kernels).padStart(7)}  ${g.kernel_ms.toFixed(1).padStart(9)}  ${pct(g.kernel_share).padStart(14)}  ${(g.step_saved_s === undefined ? '-' : `${g.step_saved_s.toFixed(3)} s`).padStart(16)}  ${pct(g.step_share).padStart(7)}${g.alignment_misses ? `  (${g.alignment_misses} stand-in kernels unmatched)` : ''}`,
    );
  }
  const names = (ks: Array<{ name: string; count: number; ms: number }>) =>
    ks.map((k) => `${k.name} ${k.count}x ${k.ms.toFixed(1)} ms`).join(', ');
  out.push(`  top kernels: ${names(r.top)}`);
  out.push(`  BatchNorm's kernels: ${names(r.bn_kernels)}`);
  out.push(`  L2 normalise's kernels: ${names(r.l2_kernels)}`);
  return out;
}
