import { tf } from '../tf';
import { L2_NORMALIZE, L2_NORMALIZE_GRAD, backendHasKernel } from './kernels';

/**
 * x / max(||x||_2 over `axis`, eps), as torch.nn.functional.normalize, with a hand-written
 * backward (core's one L2 normaliser). tf.norm would be
 * Pow(|x|, 2) (powf per element: ~25 ns on wasm, 40x a Square) and autodiff of the whole chain
 * (~10 full-size passes); here the backward is dx = (dy - y * sum(dy * y)) / n, 5 passes.
 */
export function normalizeL2<T extends tf.Tensor>(x: T, axis = -1, eps = 1e-12): T {
  const ax = axis < 0 ? x.rank + axis : axis;
  if (backendHasKernel(L2_NORMALIZE) && backendHasKernel(L2_NORMALIZE_GRAD))
    return fusedNormalizeL2(x, ax, eps);
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

/** normalizeL2 through the backend's L2_NORMALIZE kernels (see ./kernels). */
function fusedNormalizeL2<T extends tf.Tensor>(x: T, axis: number, eps: number): T {
  const attrs = { axis, eps } as unknown as tf.NamedAttrMap;
  const fn = tf.customGrad((xIn, save) => {
    // norm is not returned: the customGrad scope disposes it after save keeps its copy.
    const [y, norm] = tf.engine().runKernel(L2_NORMALIZE, { x: xIn as tf.Tensor }, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([y, norm]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel(L2_NORMALIZE_GRAD, { dy, y: saved[0], norm: saved[1] }, attrs) as tf.Tensor,
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
