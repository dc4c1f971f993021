import type { DependencyContainer } from 'tsyringe';
import { z } from 'zod';
import { tf } from '../tf';
import type { BackendAvailability, BackendProvider, BackendRegistration, Plugin } from '../contracts';
import { Tokens } from '../contracts/tokens';
import { defineRegistration } from '../di/define';

/**
 * Pure-JavaScript tfjs backend. Registered by importing '../tf', so it is always there: the
 * last resort of `auto` and the reference every other backend is tested against.
 */
export class CpuBackendProvider implements BackendProvider {
  readonly name = 'cpu';
  readonly autoPriority = 100;
  readonly description = 'pure JavaScript (@tensorflow/tfjs-backend-cpu); always available, slowest';

  async probe(): Promise<BackendAvailability> {
    if (tf.findBackendFactory('cpu') === null) {
      return {
        available: false,
        reason: 'tfjs cpu backend is not registered (npm install @tensorflow/tfjs-backend-cpu)',
      };
    }
    return { available: true, version: tf.version_core };
  }

  // Threads do not apply: the cpu backend runs on the JavaScript thread.
  async activate(_options: { threads?: number } = {}): Promise<void> {
    if (!(await tf.setBackend('cpu'))) throw new Error('tfjs could not initialise the cpu backend');
    await tf.ready();
    silenceNodeAdvert();
  }
}

/**
 * The cpu backend prints "Hi, looks like you are running TensorFlow.js in Node.js ..." on its
 * first tensor. selfsup chose cpu on purpose (and says why), so the advert is noise. It is keyed
 * on the instance's public `firstUse` field; clearing that flag silences only this message,
 * unlike tfjs's PROD flag, which also mutes every other tfjs warning.
 */
function silenceNodeAdvert(): void {
  const backend = tf.backend() as unknown as { firstUse?: unknown };
  if (backend.firstUse === true) backend.firstUse = false;
}

export const cpuBackendRegistration: BackendRegistration = defineRegistration({
  type: 'cpu',
  plugin: '@selfsup/core',
  description: 'pure JavaScript tfjs backend, always available',
  optionsSchema: z.object({}).strict(),
  create: () => new CpuBackendProvider(),
});

/** Registers the built-in cpu backend; whoever builds the root container applies it with the plugins. */
export const cpuBackendPlugin: Plugin = {
  name: '@selfsup/core',
  register(container: DependencyContainer): void {
    container.register(Tokens.Backend, { useValue: cpuBackendRegistration });
  },
};
