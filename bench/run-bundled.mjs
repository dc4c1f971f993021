/* global URL */
// Runs a TypeScript bench script the way the built CLI runs: bundled once, then executed by a
// plain `node` with nothing else loaded. The repo's sources (@selfsup/* through the root
// tsconfig's paths) and tfjs-core's gradient registrations are bundled, as rollup bundles the
// packages; every other package is imported from node_modules at run time, so one tfjs engine is
// shared.
//
// Memory benchmarks need this: a loader leaves its own memory in the measured process. Under
// vite-node, rollup's native parser kept ~22 MB in a 1 GB mapping of its allocator; under tsx,
// the module-hooks thread's heap (56 MB committed) was given back at a moment of V8's choosing,
// 20-80 s into a run (docs/PERFORMANCE.md, soak). `selfsup train` has neither.
//
//   node [node flags] bench/run-bundled.mjs bench/soak.ts [its arguments]
// The node flags (e.g. --expose-gc) are passed on to the process that runs the bundle.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_FROM_DEPENDENCIES } from '../bundle-policy.mjs';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const [script, ...args] = process.argv.slice(2);
if (!script || !script.endsWith('.ts')) {
  process.stderr.write('usage: node [node flags] bench/run-bundled.mjs SCRIPT.ts [arguments]\n');
  process.exit(2);
}
// Inside the repo, so the bundle's external imports resolve from its node_modules.
const outfile = join(REPO, '.tmp', 'bench', `${basename(script, '.ts')}.mjs`);

/** Bare imports stay external except the repo's own packages and what bundle-policy.mjs bundles. */
const dependenciesExternal = {
  name: 'dependencies-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => {
      if (a.path.startsWith('@selfsup/') || BUNDLED_FROM_DEPENDENCIES.test(a.path)) return undefined;
      return { path: a.path, external: true };
    });
  },
};
// The CommonJS parts (emscripten's glue) expect require. reflect-metadata goes first, as in the
// CLI's entry: ES imports run in the bundle's textual order, where esbuild puts tsyringe ahead.
const banner =
  "import 'reflect-metadata'; import { createRequire as __benchRequire } from 'node:module'; " +
  'const require = __benchRequire(import.meta.url);';

await build({
  entryPoints: [resolve(script)],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  tsconfig: join(REPO, 'tsconfig.json'),
  banner: { js: banner },
  plugins: [dependenciesExternal],
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, [...process.execArgv, outfile, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
