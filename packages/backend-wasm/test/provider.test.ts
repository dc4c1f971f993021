import { describe, expect, it } from 'vitest';
// core first: it loads reflect-metadata, which tsyringe needs.
import { Tokens, type BackendRegistration } from '@selfsup/core';
import { container } from 'tsyringe';
import { WasmBackendProvider, trainingKernelNames, wasmBackendPlugin, wasmState } from '../src';
import { randomInput, tf } from './helpers';

/** Gradients of a conv-BN-relu-conv loss, on the active backend, as plain arrays. */
function convGrads(): Float32Array[] {
  const x = randomInput([4, 12, 12, 8], 1);
  const w1 = randomInput([3, 3, 8, 16], 2);
  const w2 = randomInput([3, 3, 16, 16], 3);
  return tf.tidy(() => {
    const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      let h: tf.Tensor = tf.conv2d(xt, a as tf.Tensor4D, 1, 'same');
      const { mean, variance } = tf.moments(h, [0, 1, 2], true);
      h = tf.relu(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))));
      return tf.mean(tf.square(tf.conv2d(h as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')));
    };
    const grads = tf.grads(f)([tf.tensor(w1.data, w1.shape), tf.tensor(w2.data, w2.shape)]);
    return grads.map((g) => Float32Array.from(g.dataSync()));
  });
}

describe('wasm BackendProvider', () => {
  it('is offered to the container under Tokens.Backend by the plugin', () => {
    const child = container.createChildContainer();
    wasmBackendPlugin.register(child);
    const regs = child.resolveAll<BackendRegistration>(Tokens.Backend);
    const reg = regs.find((r) => r.type === 'wasm');
    expect(reg?.plugin).toBe('@selfsup/backend-wasm');
    const provider = reg!.create();
    expect(provider.name).toBe('wasm');
    expect(provider.autoPriority).toBe(30);
  });

  it('probes the installed tfjs-backend-wasm', async () => {
    expect(await new WasmBackendProvider().probe()).toEqual({ available: true, version: '4.22.0' });
  });

  it('rejects a bad thread count naming the value', async () => {
    await expect(new WasmBackendProvider().activate({ threads: 0 })).rejects.toThrow(/threads.*0/);
  });

  it('activates 2 threads with the training kernels; results are deterministic and equal to 1 thread', async () => {
    const provider = new WasmBackendProvider();
    await provider.activate({ threads: 2 });
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmState()).toEqual({ build: 'threaded-simd', threads: 2 });
    for (const name of trainingKernelNames) expect(tf.getKernel(name, 'wasm'), name).toBeDefined();
    const a = convGrads();
    // Grow the shared heap (16 MiB at start) between runs: views must follow the new buffer.
    const big = tf.fill([(48 << 20) >> 2], 1);
    const b = convGrads();
    expect(tf.sum(big).dataSync()[0]).toBe(48 << 18);
    big.dispose();
    a.forEach((g, i) => expect(b[i]).toEqual(g));

    await provider.activate({ threads: 1 });
    expect(provider.state()).toEqual({ build: 'simd', threads: 1 });
    const c = convGrads();
    // XNNPACK splits work over output tiles, never over the reduction: thread count cannot
    // change a sum's order.
    a.forEach((g, i) => expect(c[i]).toEqual(g));
  });
});
