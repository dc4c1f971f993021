/**
 * The package's browser side: bundled for the browser, it takes nothing Node-only (no node:
 * builtins, no Dawn): those are imported at run time, and only in Node.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

describe('browser bundle of @selfsup/backend-webgpu', () => {
  it('builds for platform "browser" and imports neither node: modules nor webgpu (Dawn)', async () => {
    const result = await build({
      entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      // What a browser app brings itself (core will be platform-neutral; tfjs is browser code).
      external: ['@selfsup/core', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu'],
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0].text;
    const imports = [
      ...code.matchAll(
        /(?:^|[\s;])(?:import|export)\b[^;'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/gm,
      ),
    ].map((m) => m[1] ?? m[2]);
    // Which modules, not how many statements: esbuild keeps one import of an external per source file.
    expect([...new Set(imports)].sort()).toEqual([
      '@selfsup/core',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
    expect(code).toContain('navigator');
  });
});
