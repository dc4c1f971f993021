import { tf } from '../tf';
import { SeededRng } from '../util/random';

/**
 * PyTorch/torchvision initialisers, drawn from a seeded JS generator so a seed gives the same
 * weights on every backend. Shapes are tfjs layouts; fans are computed as PyTorch does.
 */
export function kaimingNormalFanOut(shape: number[], fanOut: number, rng: SeededRng): tf.Tensor {
  // torchvision ResNet: kaiming_normal_(mode='fan_out', nonlinearity='relu').
  const std = Math.sqrt(2 / fanOut);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
  return tf.tensor(data, shape);
}

/** PyTorch's default Linear/Conv init: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function torchDefaultUniform(shape: number[], fanIn: number, rng: SeededRng): tf.Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = rng.uniform(-bound, bound);
  return tf.tensor(data, shape);
}
