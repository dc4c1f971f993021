/**
 * The GPU benchmark as one self-contained program, for bench/gpu-pack.sh to bundle: `selfsup
 * bench` with its plugins and backends built in (the CLI loads them by package name, which a
 * bundle cannot), so the pack needs no node_modules beyond Dawn's and the wasm binaries.
 *
 *   node selfsup-bench.mjs --method lewel_b --backend webgpu --width 16 --res 32 --batch 64 --steps 5
 *   node selfsup-bench.mjs --probe     # one JSON line per backend: available, reason, device
 *   node selfsup-bench.mjs --profile --method byol --backend webgpu [--rounds 3] [--kernels stock] [shape]
 *
 * Prints the JSON line of `selfsup bench --json` (shared/bench/torch_step.py's fields); with
 * --profile, one JSON line of ./profile.ts (kernels by name, BatchNorm and L2-normalise shares,
 * their A/B upper bounds) and its table on stderr. From the repo, without the pack:
 *   npx vite-node -c vitest.config.ts bench/gpu/entry.ts -- --profile --method byol --backend webgpu
 */
import { parseArgs } from 'node:util';
import {
  backendProvidersFrom,
  createRegistryContainer,
  describeBackends,
  selectBackend,
} from '@selfsup/core';
import { runBench } from '@selfsup/node';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { unregisterTrainingKernels, wasmBackendPlugin } from '@selfsup/backend-wasm';
import { nodeBackendPlugin } from '@selfsup/backend-node';
import { unregisterWebGpuTrainingKernels, webgpuBackendPlugin } from '@selfsup/backend-webgpu';
import { runProfile } from './profile';

const plugins = [
  byolPlugin,
  mocoPlugin,
  lewelPlugin,
  wasmBackendPlugin,
  nodeBackendPlugin,
  webgpuBackendPlugin,
];

const int = (name: string, v: string | undefined, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
};

async function main(): Promise<number> {
  const { values: a } = parseArgs({
    options: {
      method: { type: 'string' },
      backend: { type: 'string' },
      width: { type: 'string' },
      res: { type: 'string' },
      batch: { type: 'string' },
      steps: { type: 'string' },
      threads: { type: 'string' },
      probe: { type: 'boolean' },
      profile: { type: 'boolean' },
      rounds: { type: 'string' },
      kernels: { type: 'string' },
    },
  });
  const registry = createRegistryContainer(plugins);
  const providers = backendProvidersFrom(registry);
  if (a.probe) {
    for (const b of await describeBackends(providers)) process.stdout.write(`${JSON.stringify(b)}\n`);
    return 0;
  }
  if (!a.method) throw new Error('--method is required (byol | moco | lewel_b | lewel_m)');
  const threads = a.threads === undefined ? undefined : int('threads', a.threads, 1);
  const backend = await selectBackend({
    flag: a.backend,
    env: process.env,
    providers,
    ...(threads !== undefined && { threads }),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (a.profile) {
    const kernels = a.kernels ?? 'selfsup';
    if (kernels !== 'selfsup' && kernels !== 'stock')
      throw new Error(`--kernels selfsup|stock, got ${kernels}`);
    // stock: the backend without selfsup's kernels (core's op chains where tfjs has none).
    if (kernels === 'stock' && backend.name === 'webgpu') unregisterWebGpuTrainingKernels();
    if (kernels === 'stock' && backend.name === 'wasm') unregisterTrainingKernels();
    const result = await runProfile(
      {
        method: a.method,
        width: int('width', a.width, 16),
        res: int('res', a.res, 32),
        batch: int('batch', a.batch, 64),
        rounds: int('rounds', a.rounds, 3),
        kernels,
      },
      { plugins, registry, backend },
    );
    process.stdout.write(`${JSON.stringify({ profile: result })}\n`);
    return 0;
  }
  return runBench(
    {
      method: a.method,
      width: int('width', a.width, 16),
      res: int('res', a.res, 32),
      batch: int('batch', a.batch, 64),
      steps: int('steps', a.steps, 5),
      ...(threads !== undefined && { threads }),
      json: true,
    },
    { plugins, registry, backend },
  );
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`selfsup-bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
