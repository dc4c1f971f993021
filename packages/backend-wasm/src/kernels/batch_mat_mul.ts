/**
 * BatchMatMul on the fast path only. The stock kernel reaches XNNPACK's GEMM only for batch 1
 * without transposes; everything else runs a scalar loop at 1-2 GFLOP/s (every dense layer's
 * backward pass: dW = x^T dy, dx = dy W^T), and it indexes b out of bounds when b's batch is
 * broadcast. Here operands are transposed explicitly (XNNPACK-speed Transpose), a batch-1 b folds
 * a's batch into rows (one GEMM), and other batches loop over zero-copy views, each one GEMM
 * written straight into the output.
 */
import { BatchMatMul, broadcast_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import {
  release,
  releaseView,
  reshape,
  sizeOf,
  transpose,
  view,
  wasmId,
  zeros,
  type BackendWasm,
} from './util';

type MatMulFn = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: number,
  transposeB: number,
  outId: number,
) => void;

const entry = new WeakMap<object, MatMulFn>();

function cMatMul(backend: BackendWasm): MatMulFn {
  let fn = entry.get(backend.wasm);
  if (fn == null) {
    const wasm = backend.wasm as unknown as {
      cwrap(n: string, r: null, a: string[]): MatMulFn;
    };
    fn = wasm.cwrap(BatchMatMul, null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]);
    entry.set(backend.wasm, fn);
  }
  return fn;
}

/** Below this many flops per product, batched products use the stock single-call loop. */
const SMALL_GEMM_FLOPS = 1 << 17;

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** out[M,N] = a[M,K] b[K,N] for row-major 2-D operands, through XNNPACK's fully-connected GEMM. */
function gemm(
  backend: BackendWasm,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  m: number,
  k: number,
  n: number,
) {
  cMatMul(backend)(
    wasmId(backend, a),
    shapeBytes([1, m, k]),
    3,
    wasmId(backend, b),
    shapeBytes([1, k, n]),
    3,
    0,
    0,
    wasmId(backend, out),
  );
}

/** Flat batch index of an operand for a flat index of the broadcast batch shape. */
function batchIndexer(operandBatch: number[], outBatch: number[]): (i: number) => number {
  const size = sizeOf(operandBatch);
  if (size === sizeOf(outBatch)) return (i) => i;
  if (size === 1) return () => 0;
  const padded = [...new Array(outBatch.length - operandBatch.length).fill(1), ...operandBatch];
  const outStrides = util.computeStrides(outBatch);
  const strides = util.computeStrides(padded);
  return (i) => {
    let idx = 0;
    let rest = i;
    for (let d = 0; d < outBatch.length; d++) {
      const stride = d < outStrides.length ? outStrides[d] : 1;
      const coord = Math.floor(rest / stride);
      rest -= coord * stride;
      if (padded[d] !== 1) idx += coord * (d < strides.length ? strides[d] : 1);
    }
    return idx;
  };
}

export const batchMatMul: KernelFunc = ({ inputs, backend: b0, attrs }) => {
  const backend = b0 as BackendWasm;
  const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`backend-wasm BatchMatMul: float32 operands expected, got ${a.dtype} and ${b.dtype}`);
  }
  const ar = a.shape.length;
  const br = b.shape.length;
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  util.assert(
    k === kb,
    () =>
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${a.shape} and ${b.shape} ` +
      `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
  );
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const outShape = [...outBatch, m, n];
  const batches = sizeOf(outBatch);
  const na = sizeOf(aBatch);
  const nb = sizeOf(bBatch);
  if (m === 0 || n === 0 || k === 0 || batches === 0) return zeros(backend, outShape);

  // Operands as contiguous [batch, M, K] and [batch, K, N].
  const a3 = transposeA ? transposeLast(backend, a, na, k, m) : reshape(backend, a, [na, m, k]);
  const b3 = transposeB ? transposeLast(backend, b, nb, n, k) : reshape(backend, b, [nb, k, n]);
  const out = backend.makeOutput(outShape, 'float32');
  if (nb === 1 && na === batches) {
    // One GEMM: a's batch folds into the rows.
    gemm(backend, a3, b3, out, batches * m, k, n);
  } else if (na === nb && 2 * m * k * n < SMALL_GEMM_FLOPS) {
    // Many tiny products: one XNNPACK call each costs an operator (weight packing) and, when
    // threaded, a wake-up of the pool, which under CPU contention can wait a scheduler slice
    // (34 ms for 64 products of 8x16x128 measured). The stock loop does the whole batch in one
    // single-threaded call; its non-transposed, unbroadcast case is correct.
    cMatMul(backend)(
      wasmId(backend, a3),
      shapeBytes([na, m, k]),
      3,
      wasmId(backend, b3),
      shapeBytes([nb, k, n]),
      3,
      0,
      0,
      wasmId(backend, out),
    );
  } else {
    const ai = batchIndexer(aBatch, outBatch);
    const bi = batchIndexer(bBatch, outBatch);
    for (let i = 0; i < batches; i++) {
      const av = view(backend, a3, ai(i) * m * k, [m, k]);
      const bv = view(backend, b3, bi(i) * k * n, [k, n]);
      const ov = view(backend, out, i * m * n, [m, n]);
      gemm(backend, av, bv, ov, m, k, n);
      releaseView(backend, av);
      releaseView(backend, bv);
      releaseView(backend, ov);
    }
  }
  release(backend, a3, b3);
  return out;
};

/** x viewed as [batch, r, c] -> contiguous [batch, c, r]. */
function transposeLast(backend: BackendWasm, x: TensorInfo, batch: number, r: number, c: number): TensorInfo {
  const x3 = reshape(backend, x, [batch, r, c]);
  const t = transpose(backend, x3, [0, 2, 1]);
  release(backend, x3);
  return t;
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul,
};
