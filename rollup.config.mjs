// One rollup config for every workspace package: run from the package folder
// (`rollup -c ../../rollup.config.mjs`). Emits ESM + CJS + bundled .d.ts per entry.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { relative, resolve, sep } from 'node:path';
import esbuild from 'rollup-plugin-esbuild';
import nodeResolve from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';
import json from '@rollup/plugin-json';
import { dts } from 'rollup-plugin-dts';
import { BUNDLED_FROM_DEPENDENCIES } from './bundle-policy.mjs';

const pkgDir = process.cwd();
const pkg = JSON.parse(readFileSync(resolve(pkgDir, 'package.json'), 'utf8'));
const deps = new Set([
  ...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.peerDependencies ?? {}),
  ...Object.keys(pkg.optionalDependencies ?? {}),
]);

const isExternal = (id) => {
  if (id.startsWith('node:')) return true;
  if (BUNDLED_FROM_DEPENDENCIES.test(id)) return false;
  if (id.startsWith('.') || id.startsWith('/') || id.startsWith('\0')) return false;
  const name = id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0];
  return deps.has(name) || builtinModules.includes(name);
};

// Entries: src/index.ts always; extra bin entries listed in package.json "selfsupEntries".
// Subpath exports (package.json "selfsupSubpaths", e.g. @selfsup/core/nn) are entries with their own .d.ts.
const entries = { index: 'src/index.ts', ...(pkg.selfsupSubpaths ?? {}), ...(pkg.selfsupEntries ?? {}) };
const banner = "import { createRequire as __selfsupCreateRequire } from 'node:module';\nconst require = __selfsupCreateRequire(import.meta.url);";

const plugins = ({ browser = false } = {}) => [
  nodeResolve({ preferBuiltins: !browser, browser, extensions: ['.ts', '.js', '.mjs', '.json'] }),
  commonjs(),
  json(),
  esbuild({ target: 'node20', tsconfig: resolve(pkgDir, '../../tsconfig.base.json') }),
];

// A package whose "browser" field maps Node-only source files to browser ones also gets
// dist/index.browser.js, built with that mapping, for bundlers (exports condition "browser").
const browserMap = pkg.browser !== null && typeof pkg.browser === 'object' ? pkg.browser : undefined;
/** Applies the "browser" field's file mapping to the package's own files (node-resolve does not). */
const browserFiles = () => ({
  name: 'selfsup-browser-files',
  async resolveId(source, importer, options) {
    if (!importer || !source.startsWith('.')) return null;
    const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
    if (!resolved) return null;
    const mapped = browserMap[`./${relative(pkgDir, resolved.id).split(sep).join('/')}`];
    return typeof mapped === 'string' ? resolve(pkgDir, mapped) : null;
  },
});
const onwarn = (warning, warn) => {
  if (warning.code === 'CIRCULAR_DEPENDENCY' && /node_modules/.test(warning.message)) return;
  if (warning.code === 'THIS_IS_UNDEFINED') return;
  warn(warning);
};

export default [
  {
    input: entries,
    external: isExternal,
    plugins: plugins(),
    output: [
      {
        dir: 'dist',
        format: 'es',
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        // Platform-neutral packages must not import node:module (a browser bundle takes them).
        ...(pkg.selfsupPlatform === 'neutral' ? {} : { banner }),
        sourcemap: true,
      },
      { dir: 'dist', format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/[name]-[hash].cjs', exports: 'named', sourcemap: true },
    ],
    onwarn,
  },
  ...(browserMap
    ? [
        {
          input: { 'index.browser': 'src/index.ts' },
          external: isExternal,
          plugins: [browserFiles(), ...plugins({ browser: true })],
          output: {
            dir: 'dist',
            format: 'es',
            entryFileNames: '[name].js',
            chunkFileNames: 'chunks/[name]-[hash].browser.js',
            sourcemap: true,
          },
          onwarn,
        },
      ]
    : []),
  {
    input: { index: 'src/index.ts', ...(pkg.selfsupSubpaths ?? {}) },
    external: (id) => !id.startsWith('.') && !id.startsWith('/'),
    plugins: [dts({ tsconfig: resolve(pkgDir, '../../tsconfig.base.json') })],
    output: { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts' },
  },
];
