/**
 * BatchNorm training forward and backward as WebGPU programs (core's BATCH_NORM_TRAIN /
 * BATCH_NORM_TRAIN_GRAD), for the 'webgpu' backend. The op chain they replace runs 11
 * dispatches forward (each Mean over the non-channel axes is a transpose and a reduction) and
 * 15 backward; a training step of ResNet-18 runs ~90 of these layers, which made BatchNorm
 * ~40% of a step's dispatches (bench/gpu/profile.ts). Here: forward 2 programs plus 3 [C]
 * copies (tfjs programs have one output each), backward 2 plus 2.
 *
 * Statistics are per channel over x viewed as [rows, C], one workgroup per channel, two passes
 * (mean, then the mean of squared deviations) as the op chain computes them. The reductions sum
 * per thread, then in a tree over the workgroup.
 */
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD } from '@selfsup/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

/** What these kernels use of tfjs-backend-webgpu's WebGPUBackend. */
export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGpuProgram,
    inputs: TensorInfo[],
    outputDtype: 'float32',
    programDefinedUniform?: Array<{ type: 'int32' | 'float32'; data: number[] }>,
  ): TensorInfo;
  disposeData(dataId: unknown): boolean;
}

/** The fields of tfjs-backend-webgpu's WebGPUProgram these programs set. */
export interface WebGpuProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames: string[];
  workgroupSize: [number, number, number];
  size?: boolean;
  uniforms?: string;
  getUserCode(): string;
}

/** Threads per channel in the reductions. */
const REDUCE_THREADS = 256;
/** Threads per workgroup in the element-wise programs. */
const ELEMENTWISE_THREADS = 64;

/** x (or any [..., C] tensor) viewed as [rows, C]: the same buffer, other shape. */
function asRows(t: TensorInfo, C: number): TensorInfo {
  const size = t.shape.reduce((a, b) => a * b, 1);
  return { dataId: t.dataId, shape: [size / C, C], dtype: t.dtype };
}

/** The tree reduction of `partial` over the workgroup, in uniform control flow; result in partial[0]. */
const treeReduce = `
  workgroupBarrier();
  for (var stride = ${REDUCE_THREADS / 2}; stride > 0; stride = stride / 2) {
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }`;

/** Per channel: [mean, biased variance, 1 / sqrt(variance + eps)] as a [3, C] tensor. */
function statsProgram(rows: number, C: number): WebGpuProgram {
  return {
    outputShape: [3, C],
    shaderKey: `selfsupBatchNormStats_${REDUCE_THREADS}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [C, 1, 1],
    variableNames: ['x'],
    workgroupSize: [REDUCE_THREADS, 1, 1],
    uniforms: 'rows : i32, eps : f32,',
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${REDUCE_THREADS}>;
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        let C = uniforms.xShape[1];
        let rows = uniforms.rows;
        let lid = i32(localId.x);
        var s = 0.0;
        for (var r = lid; r < rows; r = r + ${REDUCE_THREADS}) {
          s = s + x[r * C + c];
        }
        partial[lid] = s;
        ${treeReduce}
        let mean = partial[0] / f32(rows);
        workgroupBarrier();
        var q = 0.0;
        for (var r = lid; r < rows; r = r + ${REDUCE_THREADS}) {
          let d = x[r * C + c] - mean;
          q = q + d * d;
        }
        partial[lid] = q;
        ${treeReduce}
        if (lid == 0) {
          let variance = partial[0] / f32(rows);
          result[c] = mean;
          result[C + c] = variance;
          result[2 * C + c] = inverseSqrt(variance + uniforms.eps);
        }
      }`,
  };
}

/** Element-wise over [rows, C]: `body` sets `value` from index i and channel c. */
function elementwiseProgram(
  key: string,
  rows: number,
  C: number,
  variableNames: string[],
  body: string,
  uniforms?: string,
): WebGpuProgram {
  const size = rows * C;
  return {
    outputShape: [rows, C],
    shaderKey: key,
    dispatchLayout: { x: [0, 1] },
    dispatch: [Math.ceil(size / ELEMENTWISE_THREADS), 1, 1],
    variableNames,
    workgroupSize: [ELEMENTWISE_THREADS, 1, 1],
    size: true,
    ...(uniforms !== undefined && { uniforms }),
    getUserCode: () => `
      fn main(i : i32) {
        if (i < uniforms.size) {
          let C = uniforms.outShape[1];
          let c = i % C;
          ${body}
          setOutputAtIndex(i, value);
        }
      }`,
  };
}

/** Row `row` of a [k, C] tensor, as [C]. */
function rowProgram(C: number): WebGpuProgram {
  return {
    outputShape: [C],
    shaderKey: 'selfsupRowCopy',
    dispatchLayout: { x: [0] },
    dispatch: [Math.ceil(C / ELEMENTWISE_THREADS), 1, 1],
    variableNames: ['rows'],
    workgroupSize: [ELEMENTWISE_THREADS, 1, 1],
    size: true,
    uniforms: 'row : i32,',
    getUserCode: () => `
      fn main(i : i32) {
        if (i < uniforms.size) {
          setOutputAtIndex(i, rows[uniforms.row * uniforms.size + i]);
        }
      }`,
  };
}

function row(backend: WebGpuBackendLike, packed: TensorInfo, r: number, C: number): TensorInfo {
  return backend.runWebGPUProgram(rowProgram(C), [packed], 'float32', [{ type: 'int32', data: [r] }]);
}

function channels(kernel: string, named: Record<string, TensorInfo>, x: TensorInfo): number {
  const C = x.shape[x.shape.length - 1];
  for (const [name, t] of Object.entries(named)) {
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
    if (t.shape.length === 1 && t.shape[0] !== C)
      throw new Error(`${kernel}: ${name} has shape [${t.shape}], expected [${C}] (x is [${x.shape}])`);
  }
  return C;
}

export const batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGpuBackendLike;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { eps: number }).eps;
  const C = channels(BATCH_NORM_TRAIN, { x, gamma, beta }, x);
  const xr = asRows(x, C);
  const rows = xr.shape[0];
  const stats = b.runWebGPUProgram(statsProgram(rows, C), [xr], 'float32', [
    { type: 'int32', data: [rows] },
    { type: 'float32', data: [eps] },
  ]);
  // As the op chain: (x - mean) * (invStd * gamma) + beta.
  const y = b.runWebGPUProgram(
    elementwiseProgram(
      'selfsupBatchNormApply',
      rows,
      C,
      ['x', 'stats', 'gamma', 'beta'],
      'let value = (x[i] - stats[c]) * (stats[2 * C + c] * gamma[c]) + beta[c];',
    ),
    [xr, stats, gamma, beta],
    'float32',
  );
  const out = [
    { dataId: y.dataId, shape: x.shape, dtype: y.dtype },
    row(b, stats, 0, C),
    row(b, stats, 1, C),
    row(b, stats, 2, C),
  ];
  b.disposeData(stats.dataId);
  return out;
};

/** Per channel: [sum(dy), sum(dy * xhat)] as a [2, C] tensor, xhat = (x - mean) * invStd. */
function gradSumsProgram(rows: number, C: number): WebGpuProgram {
  return {
    outputShape: [2, C],
    shaderKey: `selfsupBatchNormGradSums_${REDUCE_THREADS}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [C, 1, 1],
    variableNames: ['dy', 'x', 'mean', 'invStd'],
    workgroupSize: [REDUCE_THREADS, 1, 1],
    uniforms: 'rows : i32,',
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${REDUCE_THREADS}>;
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        let C = uniforms.xShape[1];
        let rows = uniforms.rows;
        let lid = i32(localId.x);
        let m = mean[c];
        let inv = invStd[c];
        var s = 0.0;
        var t = 0.0;
        for (var r = lid; r < rows; r = r + ${REDUCE_THREADS}) {
          let g = dy[r * C + c];
          s = s + g;
          t = t + g * ((x[r * C + c] - m) * inv);
        }
        partial[lid] = s;
        ${treeReduce}
        let dBeta = partial[0];
        workgroupBarrier();
        partial[lid] = t;
        ${treeReduce}
        if (lid == 0) {
          result[c] = dBeta;
          result[C + c] = partial[0];
        }
      }`,
  };
}

export const batchNormTrainGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as WebGpuBackendLike;
  const { dy, x, mean, invStd, gamma } = inputs as Record<
    'dy' | 'x' | 'mean' | 'invStd' | 'gamma',
    TensorInfo
  >;
  const C = channels(BATCH_NORM_TRAIN_GRAD, { dy, x, mean, invStd, gamma }, x);
  const xr = asRows(x, C);
  const dyr = asRows(dy, C);
  const rows = xr.shape[0];
  const sums = b.runWebGPUProgram(gradSumsProgram(rows, C), [dyr, xr, mean, invStd], 'float32', [
    { type: 'int32', data: [rows] },
  ]);
  // As the op chain: (dy * N - dBeta - xhat * dGamma) * (gamma * invStd / N).
  const dx = b.runWebGPUProgram(
    elementwiseProgram(
      'selfsupBatchNormGradDx',
      rows,
      C,
      ['dy', 'x', 'mean', 'invStd', 'gamma', 'sums'],
      `let inv = invStd[c];
          let n = f32(uniforms.count);
          let xhat = (x[i] - mean[c]) * inv;
          let value = ((dy[i] * n - sums[c]) - xhat * sums[C + c]) * ((gamma[c] * inv) / n);`,
      'count : i32,',
    ),
    [dyr, xr, mean, invStd, gamma, sums],
    'float32',
    [{ type: 'int32', data: [rows] }],
  );
  const out = [
    { dataId: dx.dataId, shape: x.shape, dtype: dx.dtype },
    row(b, sums, 1, C),
    row(b, sums, 0, C),
  ];
  b.disposeData(sums.dataId);
  return out;
};

export const batchNormTrainConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN,
  backendName: 'webgpu',
  kernelFunc: batchNormTrain,
};

export const batchNormTrainGradConfig: KernelConfig = {
  kernelName: BATCH_NORM_TRAIN_GRAD,
  backendName: 'webgpu',
  kernelFunc: batchNormTrainGrad,
};
