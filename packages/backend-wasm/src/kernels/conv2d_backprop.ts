/**
 * The two convolution gradients as forward XNNPACK convolutions (the stock backend has no
 * Conv2DBackpropFilter and a scalar-loop Conv2DBackpropInput).
 *
 * Filter gradient: dW[a,b,i,o] = sum_{n,y,x} x[n, y*s + a - pt, x*s + b - pl, i] dy[n,y,x,o] is a
 * stride-1 convolution of x^T = [Ci, H, W, N] (input channels as the batch, the batch as channels)
 * with dy^T = [Ho, Wo, N, Co] as the filter, dilated by the forward stride, giving [Ci, kh, kw, Co].
 *
 * Input gradient: dx[n, y, x, i] = sum dy[n, p, q, o] W[a, b, i, o] over y = p*s + a - pt. For
 * stride s the output splits into s*s phases (y mod s, x mod s); each phase is a stride-1
 * convolution of dy with the filter taps of that phase, rotated 180 degrees and with in/out
 * swapped. No work is spent on the zeros a dilated dy would hold (a 4x saving at stride 2); the
 * phases are interleaved into dx with one Transpose.
 */
import { backend_util, Conv2DBackpropFilter, Conv2DBackpropInput } from '@tensorflow/tfjs-core';
import {
  checkNhwc,
  conv2dBackpropFilterViaConv,
  convStride1,
  cropForPadding,
  type ConvGradAttrs,
  type KernelOps,
} from '@selfsup/core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { batchMatMul } from './batch_mat_mul';
import { transposeFast } from './transpose';
import { heapF32, release, reshape, run, sizeOf, slice4d, zeros, type BackendWasm } from './util';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Pair = [number, number];

/** Core's backend-neutral conv helpers, bound to wasm (slices as JS strided copies). */
function wasmOps(backend: BackendWasm): KernelOps {
  return {
    run: (name, inputs, attrs) =>
      name === 'Transpose'
        ? transposeFast(backend, inputs.x, (attrs as { perm: number[] }).perm)
        : run(name, backend, inputs, attrs),
    release: (...infos) => release(backend, ...infos),
    zeros: (shape) => zeros(backend, shape),
    slice: (x, begin, size) => slice4d(backend, x, begin, size),
  };
}

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as BackendWasm;
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as ConvGradAttrs;
  checkNhwc(a.dataFormat, 'backend-wasm Conv2DBackpropFilter');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize: n, inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const empty = sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0;
  if (!empty && kh === 1 && kw === 1 && info.padInfo.top === 0 && info.padInfo.left === 0) {
    // A 1x1 filter (ResNet's downsample shortcut): dW = xs^T dy, one GEMM with K = N*Ho*Wo, where
    // xs is x at the strided pixels. As a convolution its output would be Ci pixels only.
    const xs = sh === 1 && sw === 1 ? x : slice4d(backend, x, [0, 0, 0, 0], [n, ho, wo, ci], [1, sh, sw]);
    const am = reshape(backend, xs, [n * ho * wo, ci]);
    const bm = reshape(backend, dy, [n * ho * wo, co]);
    const prod = batchMatMul({
      inputs: { a: am, b: bm },
      backend,
      attrs: { transposeA: true, transposeB: false },
    }) as TensorInfo;
    const dw = reshape(backend, prod, [1, 1, ci, co]);
    release(backend, am, bm, prod, xs !== x ? xs : null);
    return dw;
  }
  return conv2dBackpropFilterViaConv(wasmOps(backend), x, dy, a);
};

export const conv2DBackpropInput: KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as BackendWasm;
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
    strides: Pair | number;
    pad: Pad;
    dataFormat: string;
    dimRoundingMode: Rounding;
    inputShape: [number, number, number, number];
  };
  checkNhwc(dataFormat, 'backend-wasm Conv2DBackpropInput');
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    outHeight: ho,
    outWidth: wo,
  } = info;
  if (sizeOf(inputShape) === 0 || sizeOf(dy.shape) === 0) return zeros(backend, inputShape);
  // tf.conv2dTranspose does not check dy against the requested input shape. The cpu and stock
  // wasm kernels read dy's first ho x wo pixels; a smaller dy cannot give the requested shape.
  const [dn, dh, dw, dc] = dy.shape;
  if (dn !== n || dc !== co || dh < ho || dw < wo) {
    throw new Error(
      `backend-wasm Conv2DBackpropInput: dy is [${dy.shape}], but input shape [${inputShape}] with filter ` +
        `[${filter.shape}], strides ${JSON.stringify(strides)} and pad ${JSON.stringify(pad)} needs dy [${n},${ho},${wo},${co}]`,
    );
  }
  if (dh !== ho || dw !== wo) {
    const cropped = slice4d(backend, dy, [0, 0, 0, 0], [n, ho, wo, co]);
    try {
      return conv2DBackpropInput({ inputs: { dy: cropped, filter }, backend, attrs });
    } finally {
      release(backend, cropped);
    }
  }
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const wr = rotateFilter(backend, filter);

  const ops = wasmOps(backend);
  if (sh === 1 && sw === 1) {
    const c = cropForPadding(ops, dy, [kh - 1 - pt, h - ho + pt, kw - 1 - pl, w - wo + pl]);
    const dx = convStride1(ops, c.x, wr, c.pad);
    release(backend, wr, c.cropped ? c.x : null);
    return dx;
  }

  // Phase (ry, rx) holds dx[:, q*sh + ry, p*sw + rx, :] for the q, p that stay inside dx.
  const rowPhase = (r: number, k: number, s: number, p0: number, inLen: number, fullLen: number) => {
    // Taps a = cc + s*m (m < taps) feed output rows y = s*q + r from dy rows q + d - m.
    const cc = (r + p0) % s;
    const d = Math.floor((r + p0) / s);
    const taps = cc < k ? Math.ceil((k - cc) / s) : 0;
    const outLen = r < fullLen ? Math.ceil((fullLen - r) / s) : 0;
    // Reversed-filter taps start at k-1-cc-s*(taps-1), stride s.
    const begin = k - 1 - cc - s * (taps - 1);
    const padBefore = taps - 1 - d;
    const padAfter = outLen - inLen - padBefore + taps - 1;
    return { taps, outLen, begin, padBefore, padAfter };
  };
  const dx = backend.makeOutput(inputShape, 'float32');
  // Where no tap reaches a phase (e.g. a 1x1 filter at stride 2) its pixels' gradient is zero.
  const anyEmpty =
    [...Array(sh).keys()].some((r) => rowPhase(r, kh, sh, pt, ho, h).taps === 0) ||
    [...Array(sw).keys()].some((r) => rowPhase(r, kw, sw, pl, wo, w).taps === 0);
  if (anyEmpty) heapF32(backend, dx).fill(0);
  for (let ry = 0; ry < sh; ry++) {
    const py = rowPhase(ry, kh, sh, pt, ho, h);
    for (let rx = 0; rx < sw; rx++) {
      const px = rowPhase(rx, kw, sw, pl, wo, w);
      if (py.outLen === 0 || px.outLen === 0 || py.taps === 0 || px.taps === 0) continue;
      const sub = slice4d(backend, wr, [py.begin, px.begin, 0, 0], [py.taps, px.taps, co, ci], [sh, sw, 1]);
      const c = cropForPadding(ops, dy, [py.padBefore, py.padAfter, px.padBefore, px.padAfter]);
      const phase = convStride1(ops, c.x, sub, c.pad); // [N, py.outLen, px.outLen, Ci]
      scatterPhase(
        heapF32(backend, phase),
        heapF32(backend, dx),
        n,
        h,
        w,
        ci,
        ry,
        rx,
        sh,
        sw,
        py.outLen,
        px.outLen,
      );
      release(backend, sub, phase, c.cropped ? c.x : null);
    }
  }
  release(backend, wr);
  return dx;
};

/**
 * The filter rotated 180 degrees with in/out swapped: wr[a', b', o, i] = W[kh-1-a', kw-1-b', i, o].
 * One JS pass (the stock Reverse alone takes ~30 ns per element).
 */
function rotateFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape;
  const out = backend.makeOutput([kh, kw, co, ci], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const s0 = ((kh - 1 - a) * kw + (kw - 1 - b)) * ci * co;
      const d0 = (a * kw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        const s1 = s0 + i * co;
        for (let o = 0; o < co; o++) dst[d0 + o * ci + i] = src[s1 + o];
      }
    }
  }
  return out;
}

/** Writes phase [N, qh, qw, C] to dx[:, q*sh + ry, p*sw + rx, :] (dx is [N, H, W, C]). */
function scatterPhase(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  ry: number,
  rx: number,
  sh: number,
  sw: number,
  qh: number,
  qw: number,
) {
  let i = 0;
  for (let b = 0; b < n; b++) {
    for (let q = 0; q < qh; q++) {
      let o = ((b * h + q * sh + ry) * w + rx) * c;
      const step = (sw - 1) * c;
      for (let p = 0; p < qw; p++) {
        for (let k = 0; k < c; k++) dst[o++] = src[i++];
        o += step;
      }
    }
  }
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput,
};
