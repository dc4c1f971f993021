import type { DependencyContainer } from 'tsyringe';
import type { Registration } from '../contracts';
import type { SelfsupConfigInput } from '../config/schema';
import { listTypes } from '../di/registry';

/**
 * The benchmark model of shared/bench/torch_step.py, one definition for every run: heads and
 * LEWEL settings shared by all `selfsup bench --method` presets.
 */
export const BENCH_MODEL = {
  hiddenDim: 1024,
  outDim: 256,
  heads: 4,
  queueSize: 4096,
  temperature: 0.2,
  ema: 0.99,
};

/** What `selfsup bench` varies: the ResNet-18 base width (widths w, 2w, 4w, 8w). */
export interface BenchShape {
  width: number;
}

/**
 * A named benchmark config (`selfsup bench --method <type>`), registered by the plugin that owns
 * the method, so a third-party method benchmarks exactly like an official one. A preset may
 * build on another by resolving it from the container (LEWEL_B is the byol preset + lewel).
 */
export type BenchPresetRegistration = Registration<
  (shape: BenchShape, container: DependencyContainer) => SelfsupConfigInput
>;

/** ResNet-18 (BasicBlock, [2, 2, 2, 2]) with the cifar stem at base width `width`. */
export function benchBackbone(width: number) {
  return {
    type: 'resnet',
    block: 'basic',
    blocks: [2, 2, 2, 2],
    widths: [width, 2 * width, 4 * width, 8 * width],
    stem: 'cifar',
  };
}

/** The config of a registered bench preset; an unknown name lists the registered ones. */
export function benchPresetConfig(
  container: DependencyContainer,
  name: string,
  shape: BenchShape,
): SelfsupConfigInput {
  const all = listTypes<BenchPresetRegistration>(container, 'BenchPreset');
  const found = all.find((r) => r.type === name);
  if (!found) {
    throw new Error(
      `--method ${name}: no bench preset of that name; registered: ${all.map((r) => r.type).join(', ') || '(none)'}` +
        ' (a plugin registers one under the BenchPreset seam)',
    );
  }
  return found.create(shape, container);
}
