/* global URL */
// Runs the `selfsup` CLI from its TypeScript sources in a child process (sweep --parallel under
// vitest or tsx): the built package runs dist/cli.js instead. tsx maps @selfsup/* to the
// sources via the root tsconfig; the hooks let Node load tfjs-core's extensionless imports.
import { register as registerTsx } from 'tsx/esm/api';
import { register } from 'node:module';

registerTsx({ tsconfig: new URL('../../../../tsconfig.json', import.meta.url).pathname });
register(new URL('../parallel/ts-worker-hooks.mjs', import.meta.url));
await import(new URL('./bin.ts', import.meta.url).href);
