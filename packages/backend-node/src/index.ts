import { defineRegistration, Tokens, z } from '@selfsup/core';
import type { BackendRegistration, Plugin } from '@selfsup/core';
import { NodeBackendProvider, NodeGpuBackendProvider } from './providers';
import type { NodeProviderOptions } from './providers';

export { NodeBackendProvider, NodeGpuBackendProvider, TENSORFLOW_BACKEND } from './providers';
export type { ModuleLoader, NodeProviderOptions } from './providers';

const PLUGIN = '@selfsup/backend-node';

// The container type as Plugin sees it, so this package needs no tsyringe dependency of its own.
type DependencyContainer = Parameters<Plugin['register']>[0];

/** The registrations of `node-gpu` and `node`; options (e.g. a test loader) go to both providers. */
export function nodeBackendRegistrations(options: NodeProviderOptions = {}): BackendRegistration[] {
  const noOptions = z.object({}).strict();
  return [
    defineRegistration({
      type: 'node-gpu',
      plugin: PLUGIN,
      description: 'native TensorFlow with CUDA (@tensorflow/tfjs-node-gpu, optional peer dependency)',
      optionsSchema: noOptions,
      create: () => new NodeGpuBackendProvider(options),
    }),
    defineRegistration({
      type: 'node',
      plugin: PLUGIN,
      description: 'native TensorFlow on the CPU (@tensorflow/tfjs-node, optional peer dependency)',
      optionsSchema: noOptions,
      create: () => new NodeBackendProvider(options),
    }),
  ];
}

/** Makes `node-gpu` and `node` selectable; nothing is loaded until a backend is probed. */
export const nodeBackendPlugin: Plugin = {
  name: PLUGIN,
  register(container: DependencyContainer): void {
    for (const registration of nodeBackendRegistrations()) {
      container.register(Tokens.Backend, { useValue: registration });
    }
  },
};
