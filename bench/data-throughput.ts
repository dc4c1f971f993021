/**
 * Data-path throughput: images/s of dataset get() alone, two-view augmentation alone, and both,
 * for the built-in cluttered dataset at 32 and 64 px (and Fashion-MNIST when Debian's
 * dataset-fashion-mnist is installed). Single thread, no tensors. Prints one JSON line with rates by
 * wall-clock time and by this process's CPU time.
 *
 *   npx tsx bench/data-throughput.ts [--images N] [--pipeline byol|mocov2]
 */
import { existsSync } from 'node:fs';
import type { Dataset, Image, ViewPipeline } from '../packages/core/src/contracts';
import { ClutteredDataset, viewPipelineRegistrations } from '../packages/core/src/data';
import { DEFAULT_FASHION_MNIST_PATH, fileDatasetRegistrations } from '../packages/node/src';
import { SeededRng } from '../packages/core/src/util/random';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
};
const N = Number(arg('images', '2000'));
const pipelineType = arg('pipeline', 'byol');

function makePipeline(outputSize: number): ViewPipeline {
  const reg = viewPipelineRegistrations.find((r) => r.type === pipelineType);
  if (!reg) throw new Error(`unknown pipeline '${pipelineType}'`);
  // The built-in pipelines only consult the container for user transforms; none here.
  const noContainer = { isRegistered: () => false } as unknown as Parameters<typeof reg.create>[1];
  return reg.create({ outputSize }, noContainer);
}

async function measure(name: string, ds: Dataset, outputSize: number) {
  const pipeline = makePipeline(outputSize);
  const n = Math.min(N, ds.length);
  // warm-up so the JIT has compiled the hot loops
  for (let i = 0; i < Math.min(300, n); i++) pipeline.views((await ds.get(i)).image, new SeededRng(i));

  // Wall and process-CPU time: on a shared machine the CPU rate is the steadier number.
  const clock = () => {
    const u = process.cpuUsage();
    return { wall: performance.now(), cpu: (u.user + u.system) / 1000 };
  };
  const since = (t: { wall: number; cpu: number }) => {
    const now = clock();
    return { wall: now.wall - t.wall, cpu: now.cpu - t.cpu };
  };

  let t = clock();
  const images: Image[] = [];
  for (let i = 0; i < n; i++) images.push((await ds.get(i)).image);
  const get = since(t);

  const rng = new SeededRng(1);
  t = clock();
  for (let i = 0; i < n; i++) pipeline.views(images[i], rng);
  const aug = since(t);

  t = clock();
  for (let i = 0; i < n; i++) pipeline.views((await ds.get(i)).image, rng);
  const both = since(t);
  const rate = (ms: number) => Math.round((n / ms) * 1000);
  return {
    dataset: name,
    inputSize: `${images[0].height}x${images[0].width}x${images[0].channels}`,
    outputSize,
    images: n,
    getPerSec: rate(get.wall),
    twoViewPerSec: rate(aug.wall),
    getAndTwoViewPerSec: rate(both.wall),
    cpu: { getPerSec: rate(get.cpu), twoViewPerSec: rate(aug.cpu), getAndTwoViewPerSec: rate(both.cpu) },
  };
}

const results = [];
results.push(await measure('cluttered', new ClutteredDataset({ count: N, imageSize: 32 }), 32));
results.push(await measure('cluttered', new ClutteredDataset({ count: N, imageSize: 64 }), 64));
if (existsSync(DEFAULT_FASHION_MNIST_PATH)) {
  const reg = fileDatasetRegistrations.find((r) => r.type === 'fashion_mnist')!;
  results.push(await measure('fashion_mnist', await reg.create({ split: 'test' }), 28));
}
console.log(
  JSON.stringify({
    bench: 'data-throughput',
    pipeline: pipelineType,
    node: process.version,
    threads: 1,
    results,
  }),
);
