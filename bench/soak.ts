/**
 * Soak: a long `selfsup train` run on a tiny model, the way the CLI runs it (the run folder's
 * hooks: checkpoints every epoch, metrics.jsonl, plots, the kNN monitor, the event-loop yield),
 * sampling tf.memory() and the process's RSS every 100 steps. Passes when, from the first
 * sample on, the tensor count never changes and tensor bytes and RSS stay within 5% of each
 * other ((max - min) / first). RSS is taken after a full garbage collection: before it, RSS
 * follows the JS heap's sawtooth (tens of MB between collections), which says nothing about
 * leaks; that raw RSS is reported too. Prints a table and one JSON line; exit status 1 when
 * not flat.
 *
 *   NODE_OPTIONS=--expose-gc npx vite-node -c vitest.config.ts bench/soak.ts \
 *     [--steps 1000] [--every 100] [--backend cpu|wasm] [--sharp-cache off]
 *
 * `--sharp-cache off` disables libvips' operation cache (by default up to 50 MB of native
 * memory, filled by the plots' SVG-to-PNG conversions), to tell that bounded cache from growth.
 *
 * Not a unit test: it takes minutes, and its numbers depend on the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import sharp from 'sharp';
import { parseConfig, tf, type TrainerHook } from '@selfsup/core';
import { createRunTrainer, YieldToEventLoopHook } from '@selfsup/node';
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
const TOLERANCE = 0.05;
if (SHARP_CACHE === 'off') sharp.cache(false);
const collectGarbage = (globalThis as { gc?: () => void }).gc;
if (!collectGarbage) {
  process.stderr.write(
    'bench/soak.ts: run with NODE_OPTIONS=--expose-gc (RSS is measured after a full GC)\n',
  );
  process.exit(2);
}

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

interface Sample {
  step: number;
  numTensors: number;
  tensorMB: number;
  /** Before the collection: includes garbage not yet collected. */
  rawRssMB: number;
  rssMB: number;
  heapMB: number;
  /** Node's memory outside the JS heap: ArrayBuffers (checkpoint bytes, PNGs, ...) and other external. */
  arrayBuffersMB: number;
  externalMB: number;
  /** The wasm backend's linear memory (it only ever grows), if that backend runs. */
  wasmMemoryMB?: number;
  /** Used MB of each V8 heap space (old_space, code_space, large_object_space, ...), to say which grows. */
  spacesMB: Record<string, number>;
  seconds: number;
}

const MB = 1024 * 1024;
const samples: Sample[] = [];
const t0 = performance.now();
const sampler: TrainerHook = {
  name: 'soak-sampler',
  // After every other hook of the step (the checkpoint hook is 80), so their tensors are gone too.
  priority: 100,
  afterStep(_trainer, s) {
    if (s.step % EVERY !== 0) return;
    const rawRss = process.memoryUsage.rss();
    collectGarbage();
    const m = tf.memory();
    const u = process.memoryUsage();
    samples.push({
      step: s.step,
      numTensors: m.numTensors,
      tensorMB: m.numBytes / MB,
      rawRssMB: rawRss / MB,
      rssMB: u.rss / MB,
      heapMB: u.heapUsed / MB,
      arrayBuffersMB: u.arrayBuffers / MB,
      externalMB: u.external / MB,
      wasmMemoryMB: wasmMemoryBytes() === undefined ? undefined : wasmMemoryBytes()! / MB,
      spacesMB: Object.fromEntries(
        v8.getHeapSpaceStatistics().map((x) => [x.space_name, x.space_used_size / MB]),
      ),
      seconds: (performance.now() - t0) / 1000,
    });
    const x = samples[samples.length - 1];
    process.stderr.write(
      `step ${x.step}: ${x.numTensors} tensors, ${x.tensorMB.toFixed(2)} MB, RSS ${x.rssMB.toFixed(1)} MB\n`,
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
    knn: {
      memory: splits.trainEval!,
      query: splits.test!,
      everyEpochs: t.knnEvery,
      k: config.eval.knnK,
      transform: evalTransform(config.data.imageSize),
    },
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
const spread = (key: 'tensorMB' | 'rssMB' | 'rawRssMB' | 'heapMB') => {
  const values = samples.map((s) => s[key]);
  return (Math.max(...values) - Math.min(...values)) / first[key];
};
const result = {
  bench: 'soak',
  backend: BACKEND,
  sharpCache: SHARP_CACHE,
  steps: STEPS,
  every: EVERY,
  tensorsConstant: samples.every((s) => s.numTensors === first.numTensors),
  tensorBytesSpread: spread('tensorMB'),
  rssSpread: spread('rssMB'),
  heapSpread: spread('heapMB'),
  rawRssSpread: spread('rawRssMB'),
  seconds: samples[samples.length - 1].seconds,
  samples,
};
const flat = result.tensorsConstant && result.tensorBytesSpread <= TOLERANCE && result.rssSpread <= TOLERANCE;

const pad = (v: string | number, n: number) => String(v).padStart(n);
console.log(
  `| step | tensors | tensor MB | RSS MB (after GC) | heap MB (after GC) | RSS MB (before GC) | s |`,
);
console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: |`);
for (const s of samples)
  console.log(
    `| ${pad(s.step, 4)} | ${pad(s.numTensors, 5)} | ${s.tensorMB.toFixed(3)} | ${s.rssMB.toFixed(1)} | ` +
      `${s.heapMB.toFixed(1)} | ${s.rawRssMB.toFixed(1)} | ${s.seconds.toFixed(0)} |`,
  );
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
console.log(
  `tensors constant: ${result.tensorsConstant}; spread (max - min) / first: tensor bytes ${pct(result.tensorBytesSpread)}, ` +
    `RSS ${pct(result.rssSpread)}, heap ${pct(result.heapSpread)} (RSS before GC ${pct(result.rawRssSpread)}) -> ` +
    `${flat ? 'flat' : 'NOT flat'} (limit ${100 * TOLERANCE}% on tensors, tensor bytes and RSS after GC)`,
);
console.log(JSON.stringify(result));
process.exitCode = flat ? 0 : 1;
