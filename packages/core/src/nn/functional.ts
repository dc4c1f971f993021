import { tf } from '../tf';

/**
 * x / max(||x||_2 over `axis`, eps), as torch.nn.functional.normalize, with a hand-written
 * backward (core's one L2 normaliser). tf.norm would be
 * Pow(|x|, 2) (powf per element: ~25 ns on wasm, 40x a Square) and autodiff of the whole chain
 * (~10 full-size passes); here the backward is dx = (dy - y * sum(dy * y)) / n, 5 passes.
 */
export function normalizeL2<T extends tf.Tensor>(x: T, axis = -1, eps = 1e-12): T {
  const ax = axis < 0 ? x.rank + axis : axis;
  const fn = tf.customGrad((xIn, save) => {
    const input = xIn as tf.Tensor;
    const norm = tf.sqrt(tf.sum(tf.square(input), ax, true));
    const denom = tf.maximum(norm, eps);
    // Below eps the map is x / eps, linear: no projection term.
    const open = tf.cast(tf.greaterEqual(norm, eps), 'float32');
    const y = tf.div(input, denom);
    (save as tf.GradSaveFunc)([y, denom, open]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ys, n, o] = saved;
        const s = tf.mul(tf.sum(tf.mul(dy, ys), ax, true), o);
        return tf.div(tf.sub(dy, tf.mul(ys, s)), n);
      },
    };
  });
  return (fn as unknown as (t: tf.Tensor) => T)(x);
}

/**
 * The identity whose gradient is zero (TensorFlow's tf.stop_gradient, PyTorch's x.detach()
 * inside a graph): what flows through it is treated as a constant by the tape.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const fn = tf.customGrad((xIn) => ({
    value: tf.clone(xIn as tf.Tensor),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return (fn as unknown as (t: tf.Tensor) => T)(x);
}
