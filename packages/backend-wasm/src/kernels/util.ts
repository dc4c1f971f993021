/**
 * Helpers for kernels written against the wasm backend: calling the stock kernels (captured before
 * ours replace them), releasing intermediates, and typed views of the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataType, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { transposeFast } from './transpose';

export type { BackendWasm };

/** The stock wasm kernels, captured the first time one of ours replaces them. */
const stock = new Map<string, KernelConfig>();

/** Remembers the stock kernel of `name` before it is unregistered (first time only). */
export function captureStock(name: string): void {
  if (stock.has(name)) return;
  const k = tf.getKernel(name, 'wasm');
  if (k != null) stock.set(name, k);
}

/** The stock kernel that ours replaced, if there was one. */
export function stockKernel(name: string): KernelConfig | undefined {
  return stock.get(name);
}

/** Runs the stock wasm kernel `name` (or ours where there was none). */
export function run(
  name: string,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const fn = (stock.get(name) ?? tf.getKernel(name, 'wasm'))?.kernelFunc;
  if (fn == null) throw new Error(`backend-wasm: no wasm kernel '${name}'`);
  return fn({ inputs, backend, attrs }) as TensorInfo;
}

/** Releases intermediates made by kernels (reshapes share data and only drop a reference). */
export function release(backend: BackendWasm, ...infos: Array<TensorInfo | null | undefined>): void {
  for (const t of infos) if (t != null) backend.disposeData(t.dataId);
}

export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return run('Reshape', backend, { x }, { shape });
}

/** x permuted (JS copy where the permutation allows; see transpose.ts). */
export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return transposeFast(backend, x, perm);
}

export function slice(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return run('Slice', backend, { x }, { begin, size });
}

/** A zero-filled float32 tensor. */
export function zeros(backend: BackendWasm, shape: number[], dtype: DataType = 'float32'): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  heap(backend, out).fill(0);
  return out;
}

/**
 * A view of a tensor's data on the wasm heap. Take it after the last allocation: growing the heap
 * replaces its buffer.
 */
export function heap(backend: BackendWasm, t: TensorInfo): Float32Array | Int32Array | Uint8Array {
  // The threaded build's memory is shared and growable: take the buffer from the memory itself
  // (Module.HEAPU8 is refreshed only when the main thread grew it).
  const wasm = backend.wasm as unknown as { wasmMemory?: { buffer: ArrayBufferLike }; HEAPU8: Uint8Array };
  const buffer = wasm.wasmMemory?.buffer ?? wasm.HEAPU8.buffer;
  const { memoryOffset } = backend.dataIdMap.get(t.dataId)!;
  const size = sizeOf(t.shape);
  switch (t.dtype) {
    case 'float32':
      return new Float32Array(buffer, memoryOffset, size);
    case 'int32':
      return new Int32Array(buffer, memoryOffset, size);
    case 'bool':
      return new Uint8Array(buffer, memoryOffset, size);
    default:
      throw new Error(`backend-wasm: no heap view for dtype ${t.dtype}`);
  }
}

export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`backend-wasm: expected a float32 tensor, got ${t.dtype}`);
  return heap(backend, t) as Float32Array;
}

/** The backend's id of a tensor, as the C entry points take it. */
export function wasmId(backend: BackendWasm, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId)!.id;
}

/**
 * A float32 tensor aliasing `count` elements of `base` from element `offset`, without copying.
 * Release it with `releaseView`, never `release` (that would free memory it does not own).
 */
export function view(backend: BackendWasm, base: TensorInfo, offset: number, shape: number[]): TensorInfo {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId)!;
  return backend.makeOutput(shape, base.dtype, memoryOffset + offset * 4);
}

export function releaseView(backend: BackendWasm, v: TensorInfo): void {
  const id = wasmId(backend, v);
  backend.dataIdMap.delete(v.dataId);
  // Drops the C++ bookkeeping (and operator caches keyed on the id) but frees nothing.
  (backend.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(id);
}

export const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * out[i,j,k,l] = x[b0 + i*s0, b1 + j*s1, b2 + k*s2, b3 + l] for a rank-4 float32 x: a strided
 * slice with a unit stride on the last axis. A JS copy: the stock Slice and StridedSlice kernels
 * take 30-200 ns per element, as long as a convolution over the same data.
 */
export function slice4d(
  backend: BackendWasm,
  x: TensorInfo,
  begin: number[],
  size: number[],
  strides: number[] = [1, 1, 1],
): TensorInfo {
  const out = backend.makeOutput(size, 'float32');
  const src = heapF32(backend, x);
  const dst = heapF32(backend, out);
  const [, h, w, c] = x.shape;
  const [n0, h0, w0, c0] = begin;
  const [nn, hh, ww, cc] = size;
  const [s0, s1, s2] = strides;
  let o = 0;
  for (let i = 0; i < nn; i++) {
    for (let j = 0; j < hh; j++) {
      let p = (((n0 + i * s0) * h + h0 + j * s1) * w + w0) * c + c0;
      const step = s2 * c;
      for (let k = 0; k < ww; k++, p += step) {
        if (cc >= 64) {
          dst.set(src.subarray(p, p + cc), o);
          o += cc;
        } else for (let l = 0; l < cc; l++) dst[o++] = src[p + l];
      }
    }
  }
  return out;
}
