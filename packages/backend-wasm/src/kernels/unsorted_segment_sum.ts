/**
 * UnsortedSegmentSum (the gradient of gather), missing from the stock wasm backend: a
 * scatter-add of x's rows into numSegments rows, accumulated in double like cpu's sums. Rows with
 * an id outside [0, numSegments) are dropped, as in TensorFlow.
 */
import { UnsortedSegmentSum } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heap, sizeOf, type BackendWasm } from './util';

export const unsortedSegmentSum: KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as BackendWasm;
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as { numSegments: number };
  const rows = sizeOf(segmentIds.shape);
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
  const xv = heap(backend, x);
  const ids = heap(backend, segmentIds);
  const ov = heap(backend, out);
  const acc = new Float64Array(numSegments * inner);
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id < 0 || id >= numSegments) continue;
    const src = r * inner;
    const dst = id * inner;
    for (let i = 0; i < inner; i++) acc[dst + i] += xv[src + i];
  }
  for (let i = 0; i < acc.length; i++) ov[i] = acc[i];
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum,
};
