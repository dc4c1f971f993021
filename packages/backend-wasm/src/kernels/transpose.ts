/**
 * Transpose as JS copies over the wasm heap. The stock kernel runs a per-element index loop at
 * 9-12 ns per element (measured on [4096, 1024]: 52 ms, more than half the GEMM it feeds); a
 * blocked copy takes ~3 (less for short rows). Axes that stay adjacent are merged first, so every permutation a
 * training step uses reduces to one of: a plain or batched 2-D transpose ([B, R, C] -> [B, C, R]),
 * the outer-axes swap [A, M, B] -> [B, M, A], or moving contiguous rows ([A, B, D] -> [B, A, D]).
 * Anything else goes to the stock kernel.
 */
import { Transpose } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heap, run, sizeOf, stockKernel, type BackendWasm } from './util';

type Arr = Float32Array | Int32Array | Uint8Array;

/** Shape and permutation with size-1 axes dropped and runs of adjacent axes merged. */
export function reducePerm(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => shape[p] !== 1);
  // Runs of input axes that appear consecutively (p, p+1, ...) in the output order.
  const runs: number[][] = [];
  for (const p of keep) {
    const last = runs[runs.length - 1];
    if (last != null && last[last.length - 1] + 1 === p) last.push(p);
    else runs.push([p]);
  }
  // Input order of the runs gives the reduced input shape; output order gives the perm.
  const byInput = [...runs].sort((a, b) => a[0] - b[0]);
  const rshape = byInput.map((r) => r.reduce((s, p) => s * shape[p], 1));
  const rperm = runs.map((r) => byInput.indexOf(r));
  return { shape: rshape, perm: rperm };
}

// 16 x 16 tiles: with power-of-two row strides (4 KiB, 16 KiB) larger tiles evict themselves
// (measured on [4096, 1024]: 13 ms at 16, 15 at 32 writing rows, 44 at 32 reading rows).
const TILE = 16;

/** dst[dOff + c * dStride + r] = src[sOff + r * sStride + c] for r < R, c < C, in cache tiles. */
function transpose2d(
  src: Arr,
  sOff: number,
  sStride: number,
  dst: Arr,
  dOff: number,
  dStride: number,
  R: number,
  C: number,
): void {
  for (let c0 = 0; c0 < C; c0 += TILE) {
    const c1 = Math.min(C, c0 + TILE);
    for (let r0 = 0; r0 < R; r0 += TILE) {
      const r1 = Math.min(R, r0 + TILE);
      for (let c = c0; c < c1; c++) {
        const d = dOff + c * dStride;
        const s = sOff + c;
        for (let r = r0; r < r1; r++) dst[d + r] = src[s + r * sStride];
      }
    }
  }
}

/** The permuted copy into `out`, or false when the reduced permutation has no fast path. */
function copyPermuted(src: Arr, dst: Arr, shape: number[], perm: number[]): boolean {
  const key = perm.join(',');
  if (perm.length <= 1) {
    dst.set(src);
  } else if (key === '1,0') {
    const [R, C] = shape;
    transpose2d(src, 0, C, dst, 0, R, R, C);
  } else if (key === '0,2,1') {
    const [B, R, C] = shape;
    for (let b = 0; b < B; b++) transpose2d(src, b * R * C, C, dst, b * R * C, R, R, C);
  } else if (key === '2,1,0') {
    // in[a, m, b] -> out[b, m, a]
    const [A, M, B] = shape;
    for (let m = 0; m < M; m++) transpose2d(src, m * B, M * B, dst, m * A, M * A, A, B);
  } else if (key === '1,0,2') {
    // in[a, b, :] -> out[b, a, :]
    const [A, B, D] = shape;
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) {
        const s = (a * B + b) * D;
        const d = (b * A + a) * D;
        if (D >= 32) dst.set(src.subarray(s, s + D), d);
        else for (let i = 0; i < D; i++) dst[d + i] = src[s + i];
      }
    }
  } else {
    return false;
  }
  return true;
}

/** x permuted by `perm` (a new tensor). */
export function transposeFast(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  const outShape = perm.map((p) => x.shape[p]);
  const r = reducePerm(x.shape, perm);
  const supported = x.dtype === 'float32' || x.dtype === 'int32' || x.dtype === 'bool';
  if (
    !supported ||
    r.perm.length > 3 ||
    !['', '0', '1,0', '0,2,1', '2,1,0', '1,0,2'].includes(r.perm.join(','))
  ) {
    return run(Transpose, backend, { x }, { perm });
  }
  const out = backend.makeOutput(outShape, x.dtype);
  if (sizeOf(outShape) > 0) copyPermuted(heap(backend, x), heap(backend, out), r.shape, r.perm);
  return out;
}

export const transposeKernel: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: TensorInfo };
  const { perm } = attrs as unknown as { perm: number[] };
  return transposeFast(backend as BackendWasm, x, perm);
};

export const transposeConfig: KernelConfig = {
  kernelName: Transpose,
  backendName: 'wasm',
  kernelFunc: transposeKernel,
  // The stock kernel binds its C entry point in its setup, and other stock kernels (reductions
  // over inner axes, Softmax's callers) call it directly: a backend initialised while this kernel
  // is registered must still run that setup.
  setupFunc: (backend) => stockKernel(Transpose)?.setupFunc?.(backend),
};
