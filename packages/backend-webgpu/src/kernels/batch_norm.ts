/**
 * BatchNorm training forward and backward as WebGPU programs (core's BATCH_NORM_TRAIN /
 * BATCH_NORM_TRAIN_GRAD), for the 'webgpu' backend. The op chain they replace runs 11
 * dispatches forward (each Mean over the non-channel axes is a transpose and a reduction) and
 * 14 backward; a BYOL step runs 86 forward and 44 backward calls, which made BatchNorm
 * ~40% of a step's dispatches (bench/gpu/profile.ts). Here: forward 2 programs plus 3 [C]
 * copies (tfjs programs have one output each), backward 2 plus 2.
 *
 * Statistics are per channel over x viewed as [rows, C], in two passes (mean, then the mean of
 * squared deviations) as the op chain computes them. Short columns (rows <= 1024: the heads'
 * BatchNorm1d over a batch, small images) take one thread per channel, adjacent threads reading
 * adjacent channels, no barriers; long ones one workgroup per channel, each thread summing a
 * strided part, then a tree over the workgroup (256 threads from 4096 rows, else 64, as tfjs's
 * reductions). One workgroup of 256 per channel everywhere made the heads' BatchNorm1d (C = 1024,
 * 4-64 rows) 6x slower than the op chain on SwiftShader.
 */
import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormChannels } from '@selfsup/core';
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

/** Up to this many rows a column is summed by one thread. */
const COLUMN_ROWS = 1024;

/** Threads per channel when a workgroup sums a column. */
const treeThreads = (rows: number) => (rows >= 4096 ? 256 : 64);

/** Threads per workgroup in the element-wise programs. */
const ELEMENTWISE_THREADS = 64;

/** x (or any [..., C] tensor) viewed as [rows, C]: the same buffer, other shape. */
function asRows(t: TensorInfo, C: number): TensorInfo {
  const size = t.shape.reduce((a, b) => a * b, 1);
  return { dataId: t.dataId, shape: [size / C, C], dtype: t.dtype };
}

/** The tree reduction of `partial` over the workgroup, in uniform control flow; result in partial[0]. */
const treeReduce = (threads: number) => `
  workgroupBarrier();
  for (var stride = ${threads / 2}; stride > 0; stride = stride / 2) {
    if (lid < stride) {
      partial[lid] = partial[lid] + partial[lid + stride];
    }
    workgroupBarrier();
  }`;

/**
 * A per-channel reduction program over [rows, C] inputs: `setup` runs once per channel c; each
 * pass k adds up `term` over rows r (element j = r * C + c) into `total${k}`, then runs `then`
 * (which later passes may use); `finish` writes the result.
 */
function columnReduction(
  key: string,
  rows: number,
  C: number,
  outRows: number,
  variableNames: string[],
  setup: string,
  passes: Array<{ term: string; then?: string }>,
  finish: string,
): WebGpuProgram {
  const uniforms = 'rows : i32,';
  if (rows <= COLUMN_ROWS) {
    const threads = ELEMENTWISE_THREADS;
    const body = passes
      .map(
        ({ term, then }, k) => `
          var total${k} = 0.0;
          for (var r = 0; r < rows; r = r + 1) {
            let j = r * C + c;
            total${k} = total${k} + (${term});
          }
          ${then ?? ''}`,
      )
      .join('');
    return {
      outputShape: [outRows, C],
      shaderKey: `${key}_column`,
      dispatchLayout: { x: [0, 1] },
      dispatch: [Math.ceil(C / threads), 1, 1],
      variableNames,
      workgroupSize: [threads, 1, 1],
      uniforms,
      getUserCode: () => `
      fn main(index : i32) {
        let C = uniforms.outShape[1];
        let c = i32(globalId.x);
        let rows = uniforms.rows;
        if (c < C) {
          ${setup}
          ${body}
          ${finish}
        }
      }`,
    };
  }
  const threads = treeThreads(rows);
  const body = passes
    .map(
      ({ term, then }, k) => `
        var s${k} = 0.0;
        for (var r = lid; r < rows; r = r + ${threads}) {
          let j = r * C + c;
          s${k} = s${k} + (${term});
        }
        partial[lid] = s${k};
        ${treeReduce(threads)}
        let total${k} = partial[0];
        ${then ?? ''}
        workgroupBarrier();`,
    )
    .join('');
  return {
    outputShape: [outRows, C],
    shaderKey: `${key}_tree${threads}`,
    dispatchLayout: { x: [0, 1] },
    dispatch: [C, 1, 1],
    variableNames,
    workgroupSize: [threads, 1, 1],
    uniforms,
    getUserCode: () => `
      var<workgroup> partial : array<f32, ${threads}>;
      fn main(index : i32) {
        let c = i32(workgroupId.x);
        let C = uniforms.outShape[1];
        let rows = uniforms.rows;
        let lid = i32(localId.x);
        ${setup}
        ${body}
        if (lid == 0) {
          ${finish}
        }
      }`,
  };
}

/** Per channel: [mean, biased variance, 1 / sqrt(variance + eps)] as a [3, C] tensor. */
function statsProgram(rows: number, C: number): WebGpuProgram {
  const program = columnReduction(
    'selfsupBatchNormStats',
    rows,
    C,
    3,
    ['x'],
    '',
    [{ term: 'x[j]', then: 'let mean = total0 / f32(rows);' }, { term: '(x[j] - mean) * (x[j] - mean)' }],
    `let variance = total1 / f32(rows);
          result[c] = mean;
          result[C + c] = variance;
          result[2 * C + c] = inverseSqrt(variance + uniforms.eps);`,
  );
  return { ...program, uniforms: `${program.uniforms} eps : f32,` };
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

export const batchNormTrain: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as WebGpuBackendLike;
  const { x, gamma, beta } = inputs as { x: TensorInfo; gamma: TensorInfo; beta: TensorInfo };
  const eps = (attrs as { eps: number }).eps;
  const C = batchNormChannels(BATCH_NORM_TRAIN, { x, gamma, beta }, x);
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
  return columnReduction(
    'selfsupBatchNormGradSums',
    rows,
    C,
    2,
    ['dy', 'x', 'mean', 'invStd'],
    'let m = mean[c];\n        let inv = invStd[c];',
    [{ term: 'dy[j]' }, { term: 'dy[j] * ((x[j] - m) * inv)' }],
    `result[c] = total0;
          result[C + c] = total1;`,
  );
}

export const batchNormTrainGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as WebGpuBackendLike;
  const { dy, x, mean, invStd, gamma } = inputs as Record<
    'dy' | 'x' | 'mean' | 'invStd' | 'gamma',
    TensorInfo
  >;
  const C = batchNormChannels(BATCH_NORM_TRAIN_GRAD, { dy, x, mean, invStd, gamma }, x);
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
