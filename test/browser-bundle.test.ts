import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { buildWebPage, NODE_ONLY_MODULES, OPTIONAL_BACKENDS } from '../packages/web/scripts/build';
import { tmpDir } from './cli/helpers';

const src = (pkg: string) => fileURLToPath(new URL(`../packages/${pkg}/src/index.ts`, import.meta.url));
/**
 * Packages a browser page takes: the platform-neutral core, the method/aggregator plugins, the
 * wasm backend (whose package.json "browser" field swaps its Node loader for the browser one) and
 * the webgpu backend (navigator.gpu; its Node-only Dawn loader is imported by run-time name).
 */
const BROWSER_PACKAGES = [
  'core',
  'plugin-byol',
  'plugin-moco',
  'plugin-lewel',
  'plugin-simsiam',
  'plugin-simclr',
  'backend-wasm',
  'backend-webgpu',
];

/**
 * Records every `node:` import and Node-only package, naming the importer. Bare built-ins
 * ('fs', 'crypto') are left to esbuild: with platform 'browser' it resolves them only where a
 * package's "browser" field maps them away (tfjs-core does), and fails the build otherwise.
 */
function refuseNodeModules(found: string[]): EsbuildPlugin {
  return {
    name: 'refuse-node-modules',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.startsWith('@')
          ? args.path.split('/').slice(0, 2).join('/')
          : args.path.split('/')[0];
        if (args.path.startsWith('node:') || NODE_ONLY_MODULES.includes(bare)) {
          found.push(`${args.path} (imported by ${args.importer})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

describe('browser bundle', () => {
  it('core, the plugins, backend-wasm and backend-webgpu bundle for the browser without any Node module', async () => {
    const found: string[] = [];
    const alias = Object.fromEntries(BROWSER_PACKAGES.map((p) => [`@selfsup/${p}`, src(p)]));
    const entry = BROWSER_PACKAGES.map(
      (p) => `export * as ${p.replace('-', '_')} from '@selfsup/${p}';`,
    ).join('\n');
    const result = await build({
      stdin: { contents: entry, resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      alias,
      logLevel: 'silent',
      metafile: true,
      plugins: [refuseNodeModules(found)],
    });
    expect(found).toEqual([]);
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0].text;
    // The bundle really holds the framework: the registry's and LEWEL's code are in it.
    expect(code).toContain('selfsup.Method');
    expect(code).toContain('LewelAggregator');
    // ... and the wasm backend with its browser loader, not the Node one.
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('packages/backend-wasm/src/platform/browser.ts');
    expect(inputs).not.toContain('packages/backend-wasm/src/platform/node.ts');
    expect(code).toContain('WasmBackendProvider');
    expect(code).toContain('WebGpuBackendProvider');
  });

  it("the web page's bundle takes backend-webgpu and tfjs-backend-webgpu, and no Node-only module", async () => {
    expect(OPTIONAL_BACKENDS).toContain('backend-webgpu');
    // buildWebPage fails on any node: import or Node-only package (Dawn's webgpu among them).
    const built = await buildWebPage({ outDir: join(tmpDir('web-bundle'), 'site') });
    expect(built.optionalBackends).toEqual(['@selfsup/backend-webgpu']);
    const worker = readFileSync(join(built.outDir, 'worker.js'), 'utf8');
    // tfjs-backend-webgpu's own text (minified builds keep string literals).
    expect(worker).toContain('synchronously reading data from GPU to CPU is poor on the webgpu backend');
    // Dawn is loaded only by a run-time specifier in Node; no static import of it is left.
    expect(worker).not.toMatch(/(?:from|import\(|require\()\s*["']webgpu["']/);
  }, 60_000);

  it('the check itself catches Node imports', async () => {
    const found: string[] = [];
    await build({
      stdin: { contents: "import { readFileSync } from 'node:fs'; console.log(readFileSync);", loader: 'ts' },
      bundle: true,
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      plugins: [refuseNodeModules(found)],
    });
    expect(found).toEqual(['node:fs (imported by <stdin>)']);
    await expect(
      build({
        stdin: { contents: "import { readFileSync } from 'fs'; console.log(readFileSync);", loader: 'ts' },
        bundle: true,
        platform: 'browser',
        write: false,
        logLevel: 'silent',
      }),
    ).rejects.toThrow(/Could not resolve "fs"/);
  });
});
