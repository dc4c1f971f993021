/* global URL */
// Runs the TypeScript worker entry from source (vitest, tsx): the built package uses
// dist/parallel-worker.js instead. tsx maps @selfsup/* to the sources via the root tsconfig.
import { register as registerTsx } from 'tsx/esm/api';
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';

registerTsx({ tsconfig: new URL('../../../../tsconfig.json', import.meta.url).pathname });
register(new URL('./ts-worker-hooks.mjs', import.meta.url));
await import(workerData.entry);
