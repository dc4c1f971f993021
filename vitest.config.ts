import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the TypeScript sources, so `npm test` needs no build first.
export default defineConfig({
  resolve: {
    alias: {
      '@selfsup/core': src('core'),
      '@selfsup/plugin-byol': src('plugin-byol'),
      '@selfsup/plugin-moco': src('plugin-moco'),
      '@selfsup/plugin-lewel': src('plugin-lewel'),
      '@selfsup/backend-wasm': src('backend-wasm'),
      '@selfsup/backend-node': src('backend-node'),
      '@selfsup/backend-webgpu': src('backend-webgpu'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
