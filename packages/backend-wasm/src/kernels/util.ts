/**
 * Helpers for kernels written against the wasm backend: calling the stock kernels (captured before
 * ours replace them), releasing intermediates, and typed views of the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { DataType, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

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

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return run('Transpose', backend, { x }, { perm });
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
  return backend.typedArrayFromHeap(t);
}

export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`backend-wasm: expected a float32 tensor, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
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
