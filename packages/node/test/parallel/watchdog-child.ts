// Child process of watchdog.test.ts: starts a step, then blocks the main thread the way a wasm
// pthread that never returns does (Atomics.wait on memory nobody notifies; no JS timer can run).
import { startWatchdog } from '../../src/parallel/watchdog';

const dog = startWatchdog({ timeoutMs: Number(process.argv[2] ?? 800), label: 'test run' });
dog.begin(1);
dog.end(); // a normal step
await new Promise((r) => setTimeout(r, 1200)); // idle time between steps is not watched
dog.begin(2);
process.stdout.write('blocking\n');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
process.stdout.write('unreachable\n');
