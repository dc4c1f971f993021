import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));
const coreSubpaths = JSON.parse(readFileSync(new URL('./packages/core/package.json', import.meta.url), 'utf8'))
  .selfsupSubpaths as Record<string, string>;

// Tests run against the TypeScript sources, so `npm test` needs no build first.
export default defineConfig({
  resolve: {
    alias: {
      // Subpaths first: an alias matches by prefix.
      ...Object.fromEntries(
        Object.entries(coreSubpaths).map(([name, file]) => [
          `@selfsup/core/${name}`,
          fileURLToPath(new URL(`./packages/core/${file}`, import.meta.url)),
        ]),
      ),
      '@selfsup/core': src('core'),
      '@selfsup/plugin-byol': src('plugin-byol'),
      '@selfsup/plugin-moco': src('plugin-moco'),
      '@selfsup/plugin-lewel': src('plugin-lewel'),
      '@selfsup/plugin-simsiam': src('plugin-simsiam'),
      '@selfsup/plugin-simclr': src('plugin-simclr'),
      '@selfsup/backend-wasm': src('backend-wasm'),
      '@selfsup/backend-node': src('backend-node'),
      '@selfsup/node': src('node'),
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
