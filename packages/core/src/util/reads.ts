import { tf } from '../tf';

/**
 * A computation that needs tensor values on the host, written once and run either way: it yields
 * the tensors it must read (all at once where it can) and receives their values, in order.
 * `readsSync` drives it with dataSync (cpu, wasm, node), `readsAsync` with `await data()`, which
 * every backend supports and GPU backends require: webgpu has no synchronous read in Node, and
 * in a browser its synchronous read stalls the GPU.
 *
 * A tensor yielded must stay alive until the values come back; if a read fails, the error is
 * thrown into the computation at its `yield`, so its finally blocks still dispose what it made.
 */
export type HostReads<R> = Generator<readonly tf.Tensor[], R, tf.TypedArray[]>;

export function readsSync<R>(reads: HostReads<R>): R {
  let step = reads.next();
  while (!step.done) {
    let values: tf.TypedArray[];
    try {
      values = step.value.map((t) => t.dataSync() as tf.TypedArray);
    } catch (err) {
      step = reads.throw(err);
      continue;
    }
    step = reads.next(values);
  }
  return step.value;
}

export async function readsAsync<R>(reads: HostReads<R>): Promise<R> {
  let step = reads.next();
  while (!step.done) {
    let values: tf.TypedArray[];
    try {
      values = (await Promise.all(step.value.map((t) => t.data()))) as tf.TypedArray[];
    } catch (err) {
      step = reads.throw(err);
      continue;
    }
    step = reads.next(values);
  }
  return step.value;
}
