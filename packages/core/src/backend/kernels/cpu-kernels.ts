import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterViaConv, type ConvGradAttrs, type KernelOps } from './conv-filter-grad';

interface CpuBackendLike extends tf.KernelBackend {
  disposeIntermediateTensorInfo(info: tf.TensorInfo): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

function cpuOps(backend: CpuBackendLike): KernelOps {
  return {
    run(name, inputs, attrs = {}) {
      const kernel = tf.getKernel(name, 'cpu');
      if (!kernel) throw new Error(`cpu backend: no kernel '${name}'`);
      return kernel.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
    },
    release(...infos) {
      for (const t of infos) if (t) backend.disposeIntermediateTensorInfo(t);
    },
    slice(x, begin, size) {
      return this.run('Slice', { x }, { begin, size });
    },
    zeros(shape) {
      return backend.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, b) => a * b, 1)));
    },
  };
}

let registered = false;

/** Replaces the cpu backend's element-by-element Conv2DBackpropFilter with one Conv2D (same math). */
export function registerCpuTrainingKernels(): void {
  if (registered) return;
  registered = true;
  tf.unregisterKernel(tf.Conv2DBackpropFilter, 'cpu');
  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      return conv2dBackpropFilterViaConv(
        cpuOps(backend as CpuBackendLike),
        x,
        dy,
        attrs as unknown as ConvGradAttrs,
      );
    },
  });
}
