import { describe, expect, it, vi } from 'vitest';
import { CpuBackendProvider, selectBackend, tf } from '@selfsup/core';

const ADVERT = /running TensorFlow\.js in Node\.js/;

describe('cpu backend provider', () => {
  it('probe reports available with the tfjs-core version', async () => {
    expect(await new CpuBackendProvider().probe()).toEqual({ available: true, version: tf.version_core });
  });

  it('really activates tfjs cpu, and silences only the "running in Node.js" advert', async () => {
    const factory = tf.findBackendFactory('cpu');
    expect(factory).not.toBeNull();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      // Control: a fresh cpu backend does print the advert on its first write in this process.
      const control = (await factory!()) as tf.KernelBackend;
      control.write(new Float32Array(1), [1], 'float32');
      expect(warn.mock.calls.flat().join(' ')).toMatch(ADVERT);
      control.dispose();
      warn.mockClear();

      // Re-register so activation gets a fresh instance (one that has not written yet).
      tf.removeBackend('cpu');
      tf.registerBackend('cpu', factory!, 1);

      const lines: string[] = [];
      const r = await selectBackend({
        flag: 'cpu',
        env: {},
        providers: [new CpuBackendProvider()],
        log: (l) => lines.push(l),
      });
      expect(tf.getBackend()).toBe('cpu');
      expect(r.provider).toBeInstanceOf(CpuBackendProvider);
      expect(lines).toEqual(['backend: cpu (from --backend)']);

      const before = tf.memory().numTensors;
      const sum = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3.5])).dataSync()[0]);
      expect(sum).toBe(6.5);
      expect(tf.memory().numTensors).toBe(before);
      expect(warn.mock.calls.flat().join(' ')).not.toMatch(ADVERT);
    } finally {
      warn.mockRestore();
    }
  });
});
