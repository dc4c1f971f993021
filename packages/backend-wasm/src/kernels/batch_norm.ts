/**
 * BatchNorm training forward and backward on the wasm heap (core's BATCH_NORM_TRAIN /
 * BATCH_NORM_TRAIN_GRAD). Per-channel sums run in JS in double (as the patched Sum/Mean); the
 * element-wise passes are stock XNNPACK binary kernels (0.1-0.3 ns per element, where a JS loop
 * takes 1-3), broadcasting over a wide row: a [C] vector tiled k times against x viewed as
 * [rows / k, k * C]. XNNPACK broadcasts a short row (C = 16) at ~1.2 ns per element and a
 * 1024-wide one at ~0.2. The op chain this replaces made 6 (forward) and 10 (backward) passes
 * through narrow broadcasts.
 */
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormChannels } from '@selfsup/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, release, reshape, run, sizeOf, type BackendWasm } from './util';
import { sumColumns } from './reductions';

let acc0 = new Float64Array(0);
let acc1 = new Float64Array(0);

function scratch(c: number): void {
  if (acc0.length >= c) return;
  acc0 = new Float64Array(c);
  acc1 = new Float64Array(c);
}

/** Rows tiled per broadcast row: the largest power of two dividing `rows` with k * C <= 1024. */
function tiling(rows: number, C: number): number {
  let k = 1;
  while (rows % (2 * k) === 0 && 2 * k * C <= 1024) k *= 2;
  return k;
}

/** A [k * C] tensor holding `values` (a JS copy: taken before this allocation), k times over. */
function wide(backend: BackendWasm, k: number, values: Float32Array): TensorInfo {
  const C = values.length;
  const out = backend.makeOutput([k * C], 'float32');
  const v = heapF32(backend, out);
  for (let r = 0; r < k; r++) v.set(values, r * C);
  return out;
}

/** Stock binary kernel `op` of a and the wide vector b; releases b and the inputs in `free`. */
function binary(
  backend: BackendWasm,
  op: 'Add' | 'Sub' | 'Multiply',
  a: TensorInfo,
  b: TensorInfo,
  ...free: TensorInfo[]
): TensorInfo {
  const out = run(op, backend, { a, b });
  release(backend, b, ...free);
  return out;
}

/** Column sums of a [rows, C] float32 tensor into acc (double). */
function columnSums(backend: BackendWasm, t: TensorInfo, acc: Float64Array, rows: number, C: number): void {
  sumColumns(heapF32(backend, t), acc, 0, rows, C);
}

export const batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as BackendWasm;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { eps: number }).eps;
  const C = batchNormChannels(BATCH_NORM_TRAIN, { x, gamma, beta }, x);
  const rows = sizeOf(x.shape) / C;
  const k = tiling(rows, C);
  scratch(C);
  const meanOut = b.makeOutput([C], 'float32');
  const varOut = b.makeOutput([C], 'float32');
  const invOut = b.makeOutput([C], 'float32');
  columnSums(b, x, acc0, rows, C);
  const mean = Float32Array.from(acc0.subarray(0, C), (s) => s / rows);
  heapF32(b, meanOut).set(mean);
  // Centred on the float32 mean that the backward pass is given, as the op chain does.
  const x2 = reshape(b, x, [rows / k, k * C]);
  const xc = binary(b, 'Sub', x2, wide(b, k, mean), x2);
  const sq = run('Square', b, { x: xc });
  columnSums(b, sq, acc1, rows, C);
  release(b, sq);
  const variance = Float32Array.from(acc1.subarray(0, C), (s) => s / rows);
  const invStd = variance.map((v) => 1 / Math.sqrt(v + eps));
  heapF32(b, varOut).set(variance);
  heapF32(b, invOut).set(invStd);
  const g = heapF32(b, gamma);
  const scale = invStd.map((v, c) => v * g[c]);
  const shift = heapF32(b, beta).slice();
  const scaled = binary(b, 'Multiply', xc, wide(b, k, scale), xc);
  const y2 = binary(b, 'Add', scaled, wide(b, k, shift), scaled);
  const y = reshape(b, y2, x.shape);
  release(b, y2);
  return [y, meanOut, varOut, invOut];
};

export const batchNormTrainGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as BackendWasm;
  const { dy, x, mean, invStd, gamma } = inputs as Record<string, TensorInfo>;
  const C = batchNormChannels(BATCH_NORM_TRAIN_GRAD, { dy, x, mean, invStd, gamma }, x);
  if (sizeOf(dy.shape) !== sizeOf(x.shape))
    throw new Error(`${BATCH_NORM_TRAIN_GRAD}: dy [${dy.shape}] and x [${x.shape}] differ in size`);
  const rows = sizeOf(x.shape) / C;
  const k = tiling(rows, C);
  scratch(C);
  const x2 = reshape(b, x, [rows / k, k * C]);
  const dy2 = reshape(b, dy, [rows / k, k * C]);
  const xc = binary(b, 'Sub', x2, wide(b, k, heapF32(b, mean).slice()), x2);
  const prod = run('Multiply', b, { a: dy2, b: xc });
  columnSums(b, prod, acc1, rows, C); // sum dy * (x - mean)
  release(b, prod);
  columnSums(b, dy2, acc0, rows, C); // sum dy
  const dGamma = b.makeOutput([C], 'float32');
  const dBeta = b.makeOutput([C], 'float32');
  // dx = a * dy - (x - mean) * a * t - a * sum(dy) / N, with a = gamma * invStd and
  // t = invStd^2 * sum(dy * (x - mean)) / N; coefficients in double, rounded once.
  const iv = heapF32(b, invStd);
  const gv = heapF32(b, gamma);
  const dgv = heapF32(b, dGamma);
  const dbv = heapF32(b, dBeta);
  const a = new Float32Array(C);
  const at = new Float32Array(C);
  const as = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const inv = iv[c];
    const ac = gv[c] * inv;
    dbv[c] = acc0[c];
    dgv[c] = acc1[c] * inv;
    a[c] = ac;
    at[c] = (ac * inv * inv * acc1[c]) / rows;
    as[c] = (ac * acc0[c]) / rows;
  }
  const u = binary(b, 'Multiply', dy2, wide(b, k, a), dy2);
  const w = binary(b, 'Multiply', xc, wide(b, k, at), xc);
  const v = binary(b, 'Sub', u, w, u);
  const dx2 = binary(b, 'Sub', v, wide(b, k, as), v);
  const dx = reshape(b, dx2, x.shape);
  release(b, dx2);
  return [dx, dGamma, dBeta];
};

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: 'wasm',
  kernelFunc: batchNormTrain,
};
export const batchNormTrainGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_GRAD,
  backendName: 'wasm',
  kernelFunc: batchNormTrainGrad,
};
