import { main } from './main';
import { fixMallocMmapThreshold } from '../runtime/malloc-threshold';

const flush = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));

// Before any command: glibc's adjusting mmap threshold lets every thread that draws a plot keep
// its buffers, so a long run's RSS creeps up (runtime/malloc-threshold.ts).
void fixMallocMmapThreshold()
  .then((result) => {
    if (process.env.SELFSUP_DEBUG)
      process.stderr.write(`selfsup: malloc thresholds: ${JSON.stringify(result)}\n`);
  })
  .then(() => main())
  // Exit explicitly once output is flushed: a threaded backend's worker pool (wasm pthreads)
  // would otherwise keep the process alive after the command is done.
  .then(async () => {
    await Promise.all([flush(process.stdout), flush(process.stderr)]);
    process.exit(process.exitCode ?? 0);
  });
