/**
 * Soak: a long `selfsup train` run on a tiny model, the way the CLI runs it (the run folder's
 * hooks: checkpoints every epoch, metrics.jsonl, plots, the kNN monitor, the event-loop yield),
 * sampling tf.memory() and the process's RSS every 100 steps. Passes when the tensor count never
 * changes and tensor bytes and RSS stay within 5% of each other ((max - min) / first) over
 * every sample (`--warmup N` holds only the samples from step N on, to look at a part of a run);
 * the spread from the first sample on is printed as well. RSS is taken after full garbage collections, repeated until the committed heap stops
 * shrinking (collectUntilSettled): before them, RSS follows the JS heap's sawtooth (tens of MB
 * between collections) and early on V8's uncompacted free pages, neither of which says anything
 * about leaks; RSS before any and after one collection are reported too. The process first sets
 * what the CLI's entry sets (glibc's malloc thresholds, runtime/malloc-threshold.ts). Prints a
 * table and one JSON line; exit status 1 when not flat.
 *
 *   node --expose-gc bench/run-bundled.mjs bench/soak.ts \
 *     [--steps 1000] [--every 100] [--warmup 0] [--backend cpu|wasm] [--sharp-cache off] \
 *     [--plots off] [--knn off] [--checkpoints off] [--heap-snapshots 200,600]
 *
 * Through bench/run-bundled.mjs, not vite-node or tsx: a loader's own memory (rollup's parser
 * under vite-node, the module-hooks thread under tsx) showed in RSS as a one-time step of 22-40 MB
 * that the built CLI does not have (docs/PERFORMANCE.md, soak).
 *
 * `--sharp-cache off` disables libvips' operation cache (by default up to 50 MB of native
 * memory, filled by the plots' SVG-to-PNG conversions), to tell that bounded cache from growth.
 * `--plots`, `--knn` and `--checkpoints off` take one part of the run folder away, to find the
 * part that grows; `--heap-snapshots` writes V8 heap snapshots (in the working folder) after
 * the samples of those steps, to diff what the JS heap holds. Each sample also splits RSS into
 * anonymous (malloc, JS heap, wasm) and file-backed memory and gives the committed JS heap
 * (heapTotal: used plus the free pages V8 keeps), so growth can be told apart from V8's sizing.
 *
 * Not a unit test: it takes minutes, and its numbers depend on the machine.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import sharp from 'sharp';
import { parseConfig, tf, type TrainerHook } from '@selfsup/core';
import { createRunTrainer, fixMallocMmapThreshold, YieldToEventLoopHook } from '@selfsup/node';
import {
  buildDatasets,
  buildViews,
  configHash,
  evalTransform,
  hashedParts,
  openSession,
} from '../packages/node/src/cli/session';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const STEPS = Number(arg('steps', '1000'));
const EVERY = Number(arg('every', '100'));
const BACKEND = arg('backend', 'cpu');
const SHARP_CACHE = arg('sharp-cache', 'on');
/** Switches to take the run folder's parts away one at a time (what grows?). */
const PLOTS = arg('plots', 'on') === 'on';
const KNN = arg('knn', 'on') === 'on';
const CHECKPOINTS = arg('checkpoints', 'on') === 'on';
/** Steps (of the samples) after which to write a heap snapshot into the working folder, to diff them. */
const HEAP_SNAPSHOTS = arg('heap-snapshots', '').split(',').filter(Boolean).map(Number);
const TOLERANCE = 0.05;
/** Samples before this step are shown but not held to the limit; 0 (the default) holds every one. */
const WARMUP = Number(arg('warmup', '0'));
if (SHARP_CACHE === 'off') sharp.cache(false);
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (!collectGarbage) {
  process.stderr.write(
    'bench/soak.ts: run as `node --expose-gc bench/run-bundled.mjs bench/soak.ts` (RSS is measured after a full GC)\n',
  );
  process.exit(2);
}
// What the CLI's entry does before any command (packages/node/src/cli/bin.ts).
process.stderr.write(`malloc thresholds: ${JSON.stringify(await fixMallocMmapThreshold())}\n`);

// The tiny configuration of the CLI tests (test/cli/helpers.ts), LEWEL_B: the method with the
// most tensors per step. 64 images in batches of 8: 8 steps an epoch, 125 epochs for 1000 steps.
const config = parseConfig(
  {
    method: { type: 'byol', hiddenDim: 16, outDim: 16, baseMomentum: 0.99 },
    aggregator: { type: 'lewel', heads: 4, scale: 1, l2norm: true, lossWeight: 0.5 },
    backbone: { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' },
    optimizer: { type: 'lars', lr: 0.5, momentum: 0.9, weightDecay: 1e-5, eta: 0.02 },
    train: {
      epochs: 1_000_000,
      maxSteps: STEPS,
      batchSize: 8,
      seed: 0,
      warmupEpochs: 1,
      knnEvery: 10,
      keepCheckpoints: 3,
    },
    data: { dataset: 'cluttered', imageSize: 16, count: 64, testCount: 16, numClasses: 4 },
    eval: { knnK: 5 },
  },
  'bench/soak.ts',
);

/** Size of the wasm backend's linear memory (tfjs-backend-wasm keeps its module on the backend). */
function wasmMemoryBytes(): number | undefined {
  const heap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8;
  return heap?.buffer.byteLength;
}

/** RssAnon, RssFile and Threads of /proc/self/status (Linux only; absent elsewhere). */
function procStatus(): { rssAnonMB?: number; rssFileMB?: number; threads?: number } {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const field = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const kb = (key: string) => (field(key) === undefined ? undefined : field(key)! / 1024);
  return { rssAnonMB: kb('RssAnon'), rssFileMB: kb('RssFile'), threads: field('Threads') };
}

interface Sample {
  step: number;
  numTensors: number;
  tensorMB: number;
  /** Before the collection: includes garbage not yet collected. */
  rawRssMB: number;
  /** After the first full collection only: includes old-space pages it left uncompacted. */
  rssAfterOneGcMB: number;
  /** Full collections it took until the committed heap stopped shrinking (see collectUntilSettled). */
  gcRounds: number;
  rssMB: number;
  heapMB: number;
  /** Node's memory outside the JS heap: ArrayBuffers (checkpoint bytes, PNGs, ...) and other external. */
  arrayBuffersMB: number;
  externalMB: number;
  /** The wasm backend's linear memory (it only ever grows), if that backend runs. */
  wasmMemoryMB?: number;
  /** Committed JS heap (used plus free space V8 keeps). */
  heapTotalMB: number;
  /** /proc/self/status: anonymous (malloc, JS heap, wasm) and file-backed (code, mapped files) RSS; threads. */
  rssAnonMB?: number;
  rssFileMB?: number;
  threads?: number;
  /** Used MB of each V8 heap space (old_space, code_space, large_object_space, ...), to say which grows. */
  spacesMB: Record<string, number>;
  /** Committed MB of each V8 heap space, to say which one V8 sizes up. */
  spacesCommittedMB: Record<string, number>;
  seconds: number;
}

const MB = 1024 * 1024;
const samples: Sample[] = [];

/**
 * Full collections until the committed JS heap shrinks by less than 1 MB (at most 8). One
 * collection frees the garbage but compacts only some fragmented old-space pages; early in a run
 * (module loading, first compilations) that leaves tens of MB of free pages committed, which
 * the next collections give back (measured: 237 -> 208 -> 192 -> 182 MB committed over four
 * collections at step 50, the same 106.5 MB used; from step 100 on a second one changes < 3 MB).
 * Live memory survives any number of collections, so this removes only that slack.
 */
function collectUntilSettled(): { rounds: number; rssAfterOneGc: number } {
  collectGarbage!();
  const rssAfterOneGc = process.memoryUsage.rss();
  let committed = process.memoryUsage().heapTotal;
  let rounds = 1;
  while (rounds < 8) {
    collectGarbage!();
    rounds++;
    const now = process.memoryUsage().heapTotal;
    const shrunk = committed - now;
    committed = now;
    if (shrunk < MB) break;
  }
  return { rounds, rssAfterOneGc };
}
const t0 = performance.now();
const sampler: TrainerHook = {
  name: 'soak-sampler',
  // After every other hook of the step (the checkpoint hook is 80), so their tensors are gone too.
  priority: 100,
  afterStep(_trainer, s) {
    if (s.step % EVERY !== 0) return;
    const rawRss = process.memoryUsage.rss();
    const { rounds, rssAfterOneGc } = collectUntilSettled();
    const m = tf.memory();
    const u = process.memoryUsage();
    const spaces = v8.getHeapSpaceStatistics();
    samples.push({
      step: s.step,
      numTensors: m.numTensors,
      tensorMB: m.numBytes / MB,
      rawRssMB: rawRss / MB,
      rssAfterOneGcMB: rssAfterOneGc / MB,
      gcRounds: rounds,
      rssMB: u.rss / MB,
      heapMB: u.heapUsed / MB,
      heapTotalMB: u.heapTotal / MB,
      ...procStatus(),
      arrayBuffersMB: u.arrayBuffers / MB,
      externalMB: u.external / MB,
      wasmMemoryMB: wasmMemoryBytes() === undefined ? undefined : wasmMemoryBytes()! / MB,
      spacesMB: Object.fromEntries(spaces.map((x) => [x.space_name, x.space_used_size / MB])),
      spacesCommittedMB: Object.fromEntries(spaces.map((x) => [x.space_name, x.space_size / MB])),
      seconds: (performance.now() - t0) / 1000,
    });
    if (HEAP_SNAPSHOTS.includes(s.step))
      process.stderr.write(`heap snapshot: ${v8.writeHeapSnapshot(`soak-step-${s.step}.heapsnapshot`)}\n`);
    const x = samples[samples.length - 1];
    process.stderr.write(
      `step ${x.step}: ${x.numTensors} tensors, ${x.tensorMB.toFixed(2)} MB, RSS ${x.rssMB.toFixed(1)} MB ` +
        `(anon ${x.rssAnonMB?.toFixed(1)}, file ${x.rssFileMB?.toFixed(1)}), heap ${x.heapMB.toFixed(1)}/${x.heapTotalMB.toFixed(1)} MB, ` +
        `external ${x.externalMB.toFixed(1)}, arrayBuffers ${x.arrayBuffersMB.toFixed(1)}, wasm ${x.wasmMemoryMB ?? '-'}, threads ${x.threads}, ${x.seconds.toFixed(0)} s\n`,
    );
  },
};

const runDir = mkdtempSync(join(tmpdir(), 'selfsup-soak-'));
try {
  const session = await openSession(config, { backend: BACKEND });
  const splits = await buildDatasets(session);
  const t = config.train;
  const trainer = createRunTrainer({
    method: session.pipeline.method,
    optimizer: session.pipeline.optimizer,
    dataset: splits.train,
    views: buildViews(session),
    runDir,
    batchSize: t.batchSize,
    epochs: t.epochs,
    maxSteps: t.maxSteps,
    seed: t.seed,
    lr: { baseLr: session.pipeline.baseLr, warmupEpochs: t.warmupEpochs },
    keepLast: t.keepCheckpoints,
    plots: PLOTS,
    // Off: the first checkpoint would come after the run (the hook still runs, writing nothing).
    checkpointEveryEpochs: CHECKPOINTS ? 1 : Number.MAX_SAFE_INTEGER,
    knn: KNN
      ? {
          memory: splits.trainEval!,
          query: splits.test!,
          everyEpochs: t.knnEvery,
          k: config.eval.knnK,
          transform: evalTransform(config.data.imageSize),
        }
      : undefined,
    progress: 'none',
    configHash: configHash(config),
    configSettings: hashedParts(config),
    extraHooks: [new YieldToEventLoopHook(), sampler],
    log: () => undefined,
  });
  await trainer.run();
  session.pipeline.dispose();
} finally {
  rmSync(runDir, { recursive: true, force: true });
}

const first = samples[0];
/** (max - min) / first of the samples from step `from` on. */
type SpreadKey = 'tensorMB' | 'rssMB' | 'rawRssMB' | 'rssAfterOneGcMB' | 'heapMB';
const spreadFrom = (key: SpreadKey, from: number) => {
  const values = samples.filter((s) => s.step >= from).map((s) => s[key]);
  return values.length === 0 ? NaN : (Math.max(...values) - Math.min(...values)) / values[0];
};
const spread = (key: SpreadKey) => spreadFrom(key, WARMUP);
const result = {
  bench: 'soak',
  backend: BACKEND,
  sharpCache: SHARP_CACHE,
  plots: PLOTS,
  knn: KNN,
  checkpoints: CHECKPOINTS,
  steps: STEPS,
  every: EVERY,
  warmup: WARMUP,
  tensorsConstant: samples.every((s) => s.numTensors === first.numTensors),
  tensorBytesSpread: spread('tensorMB'),
  rssSpread: spread('rssMB'),
  heapSpread: spread('heapMB'),
  rawRssSpread: spread('rawRssMB'),
  rssAfterOneGcSpread: spread('rssAfterOneGcMB'),
  /** The same from the first sample on, warm-up included. */
  rssSpreadWithWarmup: spreadFrom('rssMB', 0),
  heapSpreadWithWarmup: spreadFrom('heapMB', 0),
  seconds: samples[samples.length - 1].seconds,
  samples,
};
const flat = result.tensorsConstant && result.tensorBytesSpread <= TOLERANCE && result.rssSpread <= TOLERANCE;

const pad = (v: string | number, n: number) => String(v).padStart(n);
console.log(
  `| step | tensors | tensor MB | RSS MB (settled) | JS heap used / committed MB | RSS MB (one GC) | GCs | RSS MB (before GC) | s |`,
);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const s of samples)
  console.log(
    `| ${pad(s.step, 4)} | ${pad(s.numTensors, 5)} | ${s.tensorMB.toFixed(3)} | ${s.rssMB.toFixed(1)} | ` +
      `${s.heapMB.toFixed(1)} / ${s.heapTotalMB.toFixed(1)} | ${s.rssAfterOneGcMB.toFixed(1)} | ${s.gcRounds} | ` +
      `${s.rawRssMB.toFixed(1)} | ${s.seconds.toFixed(0)} |`,
  );
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
console.log(
  `tensors constant: ${result.tensorsConstant}; spread (max - min) / first from step ${WARMUP}: tensor bytes ` +
    `${pct(result.tensorBytesSpread)}, RSS ${pct(result.rssSpread)}, heap ${pct(result.heapSpread)} ` +
    `(RSS after one GC ${pct(result.rssAfterOneGcSpread)}, before GC ${pct(result.rawRssSpread)}; ` +
    `from the first sample: RSS ${pct(result.rssSpreadWithWarmup)}, ` +
    `heap ${pct(result.heapSpreadWithWarmup)}) -> ` +
    `${flat ? 'flat' : 'NOT flat'} (limit ${100 * TOLERANCE}% on tensors, tensor bytes and settled RSS)`,
);
console.log(JSON.stringify(result));
process.exitCode = flat ? 0 : 1;
