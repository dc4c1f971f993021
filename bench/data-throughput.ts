/**
 * Data-path throughput: images/s of dataset get() alone, two-view augmentation alone, and both,
 * for the built-in cluttered dataset at 32 and 64 px (and Fashion-MNIST when Debian's
 * dataset-fashion-mnist is installed). Single thread, no tensors. Prints one JSON line.
 *
 *   npx tsx bench/data-throughput.ts [--images N] [--pipeline byol|mocov2]
 */
import { existsSync } from 'node:fs';
import type { Dataset, Image, ViewPipeline } from '../packages/core/src/contracts';
import {
  ClutteredDataset,
  DEFAULT_FASHION_MNIST_PATH,
  viewPipelineRegistrations,
} from '../packages/core/src/data';
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
  for (let i = 0; i < Math.min(50, n); i++) pipeline.views((await ds.get(i)).image, new SeededRng(i));

  let t = performance.now();
  const images: Image[] = [];
  for (let i = 0; i < n; i++) images.push((await ds.get(i)).image);
  const getMs = performance.now() - t;

  const rng = new SeededRng(1);
  t = performance.now();
  for (let i = 0; i < n; i++) pipeline.views(images[i], rng);
  const augMs = performance.now() - t;

  t = performance.now();
  for (let i = 0; i < n; i++) pipeline.views((await ds.get(i)).image, rng);
  const bothMs = performance.now() - t;
  const rate = (ms: number) => Math.round((n / ms) * 1000);
  return {
    dataset: name,
    inputSize: `${images[0].height}x${images[0].width}x${images[0].channels}`,
    outputSize,
    images: n,
    getPerSec: rate(getMs),
    twoViewPerSec: rate(augMs),
    getAndTwoViewPerSec: rate(bothMs),
  };
}

const results = [];
results.push(await measure('cluttered', new ClutteredDataset({ count: N, imageSize: 32 }), 32));
results.push(await measure('cluttered', new ClutteredDataset({ count: N, imageSize: 64 }), 64));
if (existsSync(DEFAULT_FASHION_MNIST_PATH)) {
  const { datasetRegistrations } = await import('../packages/core/src/data');
  const reg = datasetRegistrations.find((r) => r.type === 'fashion_mnist')!;
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
