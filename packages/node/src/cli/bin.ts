import { main } from './main';

const flush = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));

// Exit explicitly once output is flushed: a threaded backend's worker pool (wasm pthreads)
// would otherwise keep the process alive after the command is done.
void main().then(async () => {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(process.exitCode ?? 0);
});
