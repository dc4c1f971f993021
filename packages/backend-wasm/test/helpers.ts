/**
 * Runs the same computation on the cpu and wasm backends from plain arrays and compares.
 * Tensors live on the backend that made them, so inputs are created per backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export { tf };

export interface Input {
  shape: number[];
  data: Float32Array;
}

/** Deterministic signed inputs (mulberry32), uniform in [-1, 1). */
export function randomInput(shape: number[], seed: number): Input {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return { shape, data };
}

/** Runs fn on `backend` with fresh tensors for inputs; returns the outputs' values. */
export async function runOn(
  backend: 'cpu' | 'wasm',
  inputs: Input[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
  const out = fn(...xs);
  const outs = Array.isArray(out) ? out : [out];
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose([...xs, ...outs]);
  return values;
}

/** max |a - b| / max |b|: error relative to the reference's scale (elementwise would blow up near 0). */
export function relError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity;
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Largest relError over paired outputs of wasm (a) and cpu (b). */
export async function compareBackends(
  inputs: Input[],
  fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[],
): Promise<number> {
  const ref = await runOn('cpu', inputs, fn);
  const got = await runOn('wasm', inputs, fn);
  if (ref.length !== got.length) return Infinity;
  return Math.max(...ref.map((r, i) => relError(got[i], r)));
}
