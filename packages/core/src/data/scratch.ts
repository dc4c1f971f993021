import type { Image, Rng, Transform } from '../contracts';

/**
 * Typed-array allocation is the main cost of augmenting small images in Node (each one is an
 * off-heap backing store), so intermediate buffers come from here. Only synchronous code may
 * use them, and never across a call that could use them too; each worker thread has its own.
 */
const pools: Float32Array[] = [new Float32Array(0), new Float32Array(0)];

/** A reusable buffer of at least n floats (contents undefined). `slot` separates concurrent users. */
export function scratch(n: number, slot: 0 | 1 = 0): Float32Array {
  if (pools[slot].length < n) pools[slot] = new Float32Array(Math.max(n, pools[slot].length * 2));
  return pools[slot];
}

/**
 * A transform that can also work on an image its caller owns, overwriting and returning it
 * (or returning a new image when the shape changes). `apply` and `applyInPlace` draw the
 * same random numbers, so a pipeline's output does not depend on which one it used.
 */
export interface InPlaceTransform extends Transform {
  applyInPlace(image: Image, rng: Rng): Image;
}

export function supportsInPlace(t: Transform): t is InPlaceTransform {
  return typeof (t as Partial<InPlaceTransform>).applyInPlace === 'function';
}
