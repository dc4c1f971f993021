/**
 * Identity without a copy: the output shares the input's buffer and bumps its reference count,
 * as the cpu backend does (tensor data is immutable; Variable.assign swaps buffers). The stock
 * kernel copies, and autodiff clones every tensor it saves for the backward pass: ~900 full-size
 * copies per training step.
 */
import { Identity } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { run, type BackendWasm } from './util';

export const identity: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const b = backend as BackendWasm;
  if (x.dtype === 'string') return run(Identity, b, { x });
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity,
};
