import 'reflect-metadata';
import { Command, InvalidArgumentError } from 'commander';
import { infoCommand } from './commands/info';
import { parityCommand } from './commands/parity';
import { benchCommand } from './commands/bench';
import { SELFSUP_VERSION } from './version';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Runs a command body, turning errors into one clear line and an exit status. */
const run =
  <A extends unknown[]>(body: (...args: A) => Promise<number>) =>
  async (...args: A) => {
    try {
      process.exitCode = await body(...args);
    } catch (err) {
      const e = err as Error;
      process.stderr.write(`selfsup: ${e.message}\n`);
      if (process.env.SELFSUP_DEBUG) process.stderr.write(`${e.stack}\n`);
      process.exitCode = 2;
    }
  };

export function buildProgram(): Command {
  const program = new Command('selfsup')
    .description('Self-supervised visual representation learning (LEWEL, BYOL, MoCo v2) on TensorFlow.js')
    .version(SELFSUP_VERSION)
    .showHelpAfterError();

  program
    .command('info')
    .description('backends available here, versions, which one auto picks, and every registered type')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'one JSON object')
    .action(run((opts) => infoCommand(opts)));

  program
    .command('parity <dir>')
    .description(
      'run a PyTorch golden fixture (fixture.json + safetensors) and compare every tensor and loss',
    )
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | auto')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'print the whole report as JSON')
    .option('-v, --verbose', 'list every tensor check')
    .action(run((dir: string, opts) => parityCommand(dir, opts)));

  program
    .command('bench')
    .description('time one full training step (both views, backward, optimizer, EMA, queue) on random data')
    .requiredOption('--method <name>', 'byol | moco | lewel_b | lewel_m')
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | auto')
    .option('--threads <n>', 'threads for the backend (wasm)', int('--threads'))
    .option('--width <n>', 'ResNet-18 base width (widths w,2w,4w,8w)', int('--width'), 16)
    .option('--res <n>', 'image side in pixels', int('--res'), 32)
    .option('--batch <n>', 'batch size', int('--batch'), 64)
    .option('--steps <n>', 'timed steps after one warm-up step', int('--steps'), 5)
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'only the JSON line')
    .action(run((opts) => benchCommand(opts)));

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
