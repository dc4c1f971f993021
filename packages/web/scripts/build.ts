/**
 * Builds the page into packages/web/dist: esbuild bundles the page, its training worker and the
 * parity page from the TypeScript sources (no package build needed first), with the repository's
 * recipes and the backend packages present baked in; the static files and tfjs-backend-wasm's
 * .wasm binaries are copied next to them. `tsx scripts/build.ts [--no-minify]`.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin as EsbuildPlugin } from 'esbuild';
import { loadRecipes, REPO_DIR } from './recipes';

const WEB_DIR = join(REPO_DIR, 'packages', 'web');
export const DEFAULT_OUT_DIR = join(WEB_DIR, 'dist');

/** Workspace packages the page bundles from source (as vitest's aliases). */
const SOURCE_PACKAGES = ['core', 'plugin-byol', 'plugin-moco', 'plugin-lewel', 'backend-wasm'];
/**
 * Backend packages bundled when they are in the repository; the page lists the others as not
 * installed. backend-webgpu runs on the browser's navigator.gpu; its Node-only part (Dawn, npm
 * `webgpu`) is imported with run-time specifiers that the bundle never resolves.
 */
export const OPTIONAL_BACKENDS: string[] = ['backend-webgpu'];

/** Node-only modules no browser bundle may take (the page build and test/browser-bundle check it; Dawn's `webgpu` is native code for Node). */
export const NODE_ONLY_MODULES = [
  'webgpu',
  'sharp',
  'cli-progress',
  'commander',
  'vega',
  'vega-lite',
  '@selfsup/node',
];

/** Fails the build on a `node:` import or a Node-only package, naming the importer. */
function refuseNodeOnly(): EsbuildPlugin {
  return {
    name: 'selfsup-web-refuse-node-only',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const parts = args.path.split('/');
        const bare = args.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        if (!args.path.startsWith('node:') && !NODE_ONLY_MODULES.includes(bare)) return undefined;
        return {
          errors: [
            {
              text: `the page cannot take the Node-only module "${args.path}" (imported by ${args.importer})`,
            },
          ],
        };
      });
    },
  };
}

export interface BuildOptions {
  outDir?: string;
  minify?: boolean;
  repoDir?: string;
}

export interface BuildResult {
  outDir: string;
  /** The optional backend packages that were bundled. */
  optionalBackends: string[];
}

const sourceEntry = (repoDir: string, pkg: string) => join(repoDir, 'packages', pkg, 'src', 'index.ts');

/** `selfsup-web:recipes` and `selfsup-web:optional-backends` (src/browser/virtual.d.ts). */
function virtualModules(repoDir: string, optional: string[]): EsbuildPlugin {
  return {
    name: 'selfsup-web-virtual',
    setup(b) {
      b.onResolve({ filter: /^selfsup-web:/ }, (args) => ({ path: args.path, namespace: 'selfsup-web' }));
      b.onLoad({ filter: /.*/, namespace: 'selfsup-web' }, (args) => {
        if (args.path === 'selfsup-web:recipes') {
          return { contents: `export default ${JSON.stringify(loadRecipes(repoDir))};`, loader: 'js' };
        }
        if (args.path === 'selfsup-web:optional-backends') {
          const imports = optional.map((pkg, i) => `import * as m${i} from '@selfsup/${pkg}';`).join('\n');
          const list = optional.map((_, i) => `...pluginsOf(m${i})`).join(', ');
          const contents = `${imports}
const isPlugin = (v) => !!v && typeof v === 'object' && typeof v.name === 'string' && typeof v.register === 'function';
const pluginsOf = (m) => (isPlugin(m.default) ? [m.default] : Object.values(m).filter(isPlugin));
export default [${list}];`;
          return { contents, loader: 'js', resolveDir: repoDir };
        }
        return undefined;
      });
    },
  };
}

export async function buildWebPage(options: BuildOptions = {}): Promise<BuildResult> {
  const repoDir = options.repoDir ?? REPO_DIR;
  const outDir = options.outDir ?? DEFAULT_OUT_DIR;
  const optional = OPTIONAL_BACKENDS.filter((pkg) => existsSync(sourceEntry(repoDir, pkg)));
  const alias = Object.fromEntries(
    [...SOURCE_PACKAGES, ...optional].map((pkg) => [`@selfsup/${pkg}`, sourceEntry(repoDir, pkg)]),
  );
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'wasm'), { recursive: true });
  const src = join(repoDir, 'packages', 'web', 'src', 'browser');
  await build({
    entryPoints: {
      main: join(src, 'main.ts'),
      worker: join(src, 'worker.ts'),
      parity: join(src, 'parity-page.ts'),
    },
    outdir: outDir,
    bundle: true,
    // Classic scripts and a classic worker: emscripten's pthread workers load the same way.
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    alias,
    plugins: [refuseNodeOnly(), virtualModules(repoDir, optional)],
    logLevel: 'warning',
    legalComments: 'none',
  });
  const web = join(repoDir, 'packages', 'web');
  for (const f of readdirSync(join(web, 'public'))) copyFileSync(join(web, 'public', f), join(outDir, f));
  const req = createRequire(join(web, 'package.json'));
  const wasmDist = join(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  for (const f of readdirSync(wasmDist).filter((n) => n.endsWith('.wasm'))) {
    copyFileSync(join(wasmDist, f), join(outDir, 'wasm', f));
  }
  return { outDir, optionalBackends: optional.map((p) => `@selfsup/${p}`) };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const t0 = Date.now();
  buildWebPage({ minify: !process.argv.includes('--no-minify') }).then(
    (r) => {
      const extra = r.optionalBackends.length
        ? ` with ${r.optionalBackends.join(', ')}`
        : ' (webgpu: not installed)';
      console.log(`web page built in ${Date.now() - t0} ms${extra}: ${r.outDir}`);
    },
    (err: unknown) => {
      console.error(`web build failed: ${(err as Error).message}`);
      process.exit(1);
    },
  );
}
