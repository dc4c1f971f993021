/**
 * Conv2D's filter gradient as one forward convolution, for any backend whose Conv2D is faster
 * than its Conv2DBackpropFilter (tfjs's cpu backend reads every element through
 * TensorBuffer.get and runs ~70x slower than its own Conv2D; stock wasm has none at all).
 *
 * dW[a,b,i,o] = sum_{n,y,x} x[n, y*s + a - pt, x*s + b - pl, i] dy[n,y,x,o] is a stride-1
 * convolution of x^T = [Ci, H, W, N] (channels as the batch, the batch as channels) with
 * dy^T = [Ho, Wo, N, Co] as the filter, dilated by the forward stride: [Ci, kh, kw, Co].
 */
import * as tf from '@tensorflow/tfjs-core';

type TensorInfo = tf.TensorInfo;
type Pad4 = [number, number, number, number];

/** The few kernels the formulation needs, bound to one backend. */
export interface KernelOps {
  run(name: string, inputs: Record<string, TensorInfo>, attrs?: tf.NamedAttrMap): TensorInfo;
  release(...infos: Array<TensorInfo | null | undefined>): void;
  zeros(shape: number[]): TensorInfo;
  /** A [begin, begin + size) block of a 4-D tensor (a backend may have a faster copy than its Slice). */
  slice(x: TensorInfo, begin: number[], size: number[]): TensorInfo;
}

export interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

const explicit = ([t, b, l, r]: Pad4): tf.backend_util.ExplicitPadding => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

/** Crops x [N,H,W,C] where a padding came out negative; returns the rest of the padding. */
export function cropForPadding(
  ops: KernelOps,
  x: TensorInfo,
  pad: Pad4,
): { x: TensorInfo; pad: Pad4; cropped: boolean } {
  const [t, b, l, r] = pad;
  if (t >= 0 && b >= 0 && l >= 0 && r >= 0) return { x, pad, cropped: false };
  const [n, h, w, c] = x.shape;
  const top = Math.max(0, -t);
  const left = Math.max(0, -l);
  const size = [n, h - top - Math.max(0, -b), w - left - Math.max(0, -r), c];
  const out = ops.slice(x, [0, top, left, 0], size);
  return { x: out, pad: [Math.max(0, t), Math.max(0, b), Math.max(0, l), Math.max(0, r)], cropped: true };
}

/** Stride-1 Conv2D with explicit non-negative padding. */
export function convStride1(
  ops: KernelOps,
  x: TensorInfo,
  filter: TensorInfo,
  pad: Pad4,
  dilations: [number, number] = [1, 1],
) {
  return ops.run(
    'Conv2D',
    { x, filter },
    { strides: [1, 1], pad: explicit(pad), dataFormat: 'NHWC', dilations },
  );
}

export function checkNhwc(dataFormat: unknown, kernel: string): void {
  if (dataFormat != null && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`${kernel}: dataFormat '${String(dataFormat)}' is not supported, use 'NHWC'`);
  }
}

export function conv2dBackpropFilterViaConv(
  ops: KernelOps,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: ConvGradAttrs,
): TensorInfo {
  checkNhwc(attrs.dataFormat, 'Conv2DBackpropFilter');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as Pad4,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const {
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  if (size(x.shape) === 0 || size(dy.shape) === 0) return ops.zeros([kh, kw, ci, co]);
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // A kh x kw output of a (ho x wo) filter dilated by the stride over H + pt + pb.
  const pb = kh + (ho - 1) * sh - h - pt;
  const pr = kw + (wo - 1) * sw - w - pl;
  const xt = ops.run('Transpose', { x }, { perm: [3, 1, 2, 0] }); // [Ci, H, W, N]
  const dyt = ops.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Co]
  const c = cropForPadding(ops, xt, [pt, pb, pl, pr]);
  const dwt = convStride1(ops, c.x, dyt, c.pad, [sh, sw]); // [Ci, kh, kw, Co]
  const dw = ops.run('Transpose', { x: dwt }, { perm: [1, 2, 0, 3] });
  ops.release(xt, dyt, dwt, c.cropped ? c.x : null);
  return dw;
}
