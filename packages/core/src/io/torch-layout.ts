import { tf } from '../tf';
import type { TorchLayout } from '../nn/module';
import type { TensorData } from './safetensors';

/**
 * PyTorch <-> tfjs weight layouts (see TorchLayout in nn/module):
 *   conv2d:    torch (O, I, kh, kw)  <-> tfjs (kh, kw, I, O)
 *   tokenwise: torch (O, I, 1)       <-> tfjs (I, O)    (1x1 Conv1d applied per token)
 *   linear:    torch (O, I)          <-> tfjs (I, O)
 *   identity:  same shape and order.
 * The permutations run on plain arrays, so they create no tensors and cannot leak any.
 */

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const label = (name: string | undefined) => (name === undefined ? 'tensor' : `'${name}'`);
const RANK: Record<TorchLayout, number | undefined> = {
  identity: undefined,
  conv2d: 4,
  tokenwise: 2,
  linear: 2,
};
const TORCH_RANK: Record<TorchLayout, number | undefined> = {
  identity: undefined,
  conv2d: 4,
  tokenwise: 3,
  linear: 2,
};

/** out = data transposed so that out axis k is input axis perm[k] (as tf.transpose / numpy). */
export function permute(
  data: ArrayLike<number>,
  shape: readonly number[],
  perm: readonly number[],
): Float32Array {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const stride = perm.map((p) => inStrides[p]);
  const out = new Float32Array(s);
  const idx = new Array<number>(rank).fill(0);
  let src = 0;
  for (let o = 0; o < s; o++) {
    out[o] = data[src];
    // Odometer over the output index, tracking the source offset incrementally.
    for (let k = rank - 1; k >= 0; k--) {
      idx[k]++;
      src += stride[k];
      if (idx[k] < outShape[k]) break;
      src -= stride[k] * outShape[k];
      idx[k] = 0;
    }
  }
  return out;
}

/** The PyTorch shape of a tfjs-layout shape. */
export function torchShapeOf(tfShape: readonly number[], layout: TorchLayout, name?: string): number[] {
  const rank = RANK[layout];
  if (rank !== undefined && tfShape.length !== rank)
    throw new Error(
      `${label(name)}: layout ${layout} expects a rank-${rank} tfjs tensor, got shape ${fmt(tfShape)}`,
    );
  switch (layout) {
    case 'identity':
      return [...tfShape];
    case 'conv2d': {
      const [kh, kw, i, o] = tfShape;
      return [o, i, kh, kw];
    }
    case 'tokenwise':
      return [tfShape[1], tfShape[0], 1];
    case 'linear':
      return [tfShape[1], tfShape[0]];
  }
}

/** The tfjs shape of a PyTorch-layout shape. */
export function tfShapeOf(torchShape: readonly number[], layout: TorchLayout, name?: string): number[] {
  const rank = TORCH_RANK[layout];
  if (rank !== undefined && torchShape.length !== rank)
    throw new Error(
      `${label(name)}: layout ${layout} expects a rank-${rank} PyTorch tensor, got shape ${fmt(torchShape)}`,
    );
  switch (layout) {
    case 'identity':
      return [...torchShape];
    case 'conv2d': {
      const [o, i, kh, kw] = torchShape;
      return [kh, kw, i, o];
    }
    case 'tokenwise':
      if (torchShape[2] !== 1)
        throw new Error(
          `${label(name)}: layout tokenwise expects PyTorch shape (O, I, 1), got ${fmt(torchShape)}`,
        );
      return [torchShape[1], torchShape[0]];
    case 'linear':
      return [torchShape[1], torchShape[0]];
  }
}

const checkLength = (data: ArrayLike<number>, shape: readonly number[], name: string | undefined) => {
  const n = shape.reduce((a, d) => a * d, 1);
  if (data.length !== n)
    throw new Error(`${label(name)}: ${data.length} values do not fill shape ${fmt(shape)} (${n} values)`);
};

/** tfjs-layout values to PyTorch layout, on plain arrays. */
export function toTorchData(
  data: ArrayLike<number>,
  tfShape: readonly number[],
  layout: TorchLayout,
  name?: string,
): TensorData {
  const shape = torchShapeOf(tfShape, layout, name);
  checkLength(data, tfShape, name);
  switch (layout) {
    case 'identity':
      return { shape, data: Float32Array.from(data) };
    case 'conv2d':
      return { shape, data: permute(data, tfShape, [3, 2, 0, 1]) };
    case 'tokenwise':
    case 'linear':
      return { shape, data: permute(data, tfShape, [1, 0]) };
  }
}

/** PyTorch-layout values to tfjs layout, on plain arrays. */
export function fromTorchData(
  data: ArrayLike<number>,
  torchShape: readonly number[],
  layout: TorchLayout,
  name?: string,
): TensorData {
  const shape = tfShapeOf(torchShape, layout, name);
  checkLength(data, torchShape, name);
  switch (layout) {
    case 'identity':
      return { shape, data: Float32Array.from(data) };
    case 'conv2d':
      return { shape, data: permute(data, torchShape, [2, 3, 1, 0]) };
    case 'tokenwise':
      return { shape, data: permute(data, [torchShape[0], torchShape[1]], [1, 0]) };
    case 'linear':
      return { shape, data: permute(data, torchShape, [1, 0]) };
  }
}

/** A tfjs tensor's values in PyTorch layout (reads the tensor synchronously; creates no tensors). */
export function toTorchLayout(tensor: tf.Tensor, layout: TorchLayout, name?: string): TensorData {
  return toTorchData(tensor.dataSync(), tensor.shape, layout, name);
}

/** A new tfjs tensor from PyTorch-layout values; the caller owns (and disposes) it. */
export function fromTorchLayout(
  data: ArrayLike<number>,
  torchShape: readonly number[],
  layout: TorchLayout,
  name?: string,
  dtype: 'float32' | 'int32' = 'float32',
): tf.Tensor {
  const t = fromTorchData(data, torchShape, layout, name);
  return tf.tensor(dtype === 'float32' ? t.data : Int32Array.from(t.data), t.shape, dtype);
}
