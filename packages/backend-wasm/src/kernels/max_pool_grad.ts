/**
 * MaxPoolGrad routing each dy to the first maximum of its window, as the cpu backend does. The
 * stock kernel starts its running max at the smallest positive float and keeps the last of equal
 * values: a window of non-positive values (all zeros after a ReLU, common) sends its gradient to
 * the wrong pixel, and ties go to a different pixel than cpu's.
 */
import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, type BackendWasm } from './util';

let scratch = new Float64Array(0);

export const maxPoolGrad: KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as BackendWasm;
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels: C,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
  } = info;
  const fh = info.effectiveFilterHeight;
  const fw = info.effectiveFilterWidth;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;

  const dx = backend.makeOutput(input.shape, 'float32');
  const x = heapF32(backend, input);
  const g = heapF32(backend, dy);
  const out = heapF32(backend, dx);
  if (scratch.length < out.length) scratch = new Float64Array(out.length);
  const acc = scratch;
  acc.fill(0, 0, out.length);
  const maxVal = new Float64Array(C);
  const maxIdx = new Int32Array(C);

  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * C;
    for (let yR = 0; yR < outHeight; yR++) {
      const r0 = yR * strideHeight - padTop;
      const rMin = Math.max(0, r0);
      const rMax = Math.min(inHeight, r0 + fh);
      for (let yC = 0; yC < outWidth; yC++) {
        const c0 = yC * strideWidth - padLeft;
        const cMin = Math.max(0, c0);
        const cMax = Math.min(inWidth, c0 + fw);
        maxVal.fill(Number.NEGATIVE_INFINITY);
        maxIdx.fill(-1);
        // Row-major over the window, strict '>': the first maximum wins (cpu's rule).
        for (let r = rMin; r < rMax; r++) {
          for (let c = cMin; c < cMax; c++) {
            const base = xBatch + (r * inWidth + c) * C;
            for (let d = 0; d < C; d++) {
              const v = x[base + d];
              if (v > maxVal[d]) {
                maxVal[d] = v;
                maxIdx[d] = base + d;
              }
            }
          }
        }
        const gBase = ((b * outHeight + yR) * outWidth + yC) * C;
        for (let d = 0; d < C; d++) {
          const i = maxIdx[d];
          if (i >= 0) acc[i] += g[gBase + d];
        }
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = acc[i];
  return dx;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
