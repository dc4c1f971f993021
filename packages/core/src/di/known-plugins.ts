import type { SeamName } from '../contracts/tokens';

/**
 * Where the official `type` names live, so an unknown name can say which package to install.
 * Strings only: core never imports a plugin.
 */
export const KNOWN_PROVIDERS: Partial<Record<SeamName, Record<string, string>>> = {
  Method: {
    byol: '@selfsup/plugin-byol',
    moco: '@selfsup/plugin-moco',
    simsiam: '@selfsup/plugin-simsiam',
    simclr: '@selfsup/plugin-simclr',
  },
  Aggregator: { lewel: '@selfsup/plugin-lewel' },
  Loss: {
    normalized_mse: '@selfsup/plugin-byol',
    info_nce: '@selfsup/plugin-moco',
    negative_cosine: '@selfsup/plugin-simsiam',
    nt_xent: '@selfsup/plugin-simclr',
  },
  Backend: {
    wasm: '@selfsup/backend-wasm',
    webgpu: '@selfsup/backend-webgpu (+ webgpu for Node)',
    'node-gpu': '@selfsup/backend-node (+ @tensorflow/tfjs-node-gpu)',
    node: '@selfsup/backend-node (+ @tensorflow/tfjs-node)',
  },
};
