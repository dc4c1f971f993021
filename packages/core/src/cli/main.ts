import 'reflect-metadata';
import { Command, InvalidArgumentError } from 'commander';
import { infoCommand } from './commands/info';
import { parityCommand } from './commands/parity';
import { benchCommand } from './commands/bench';
import { trainCommand } from './commands/train';
import { evalCommand, EVAL_KINDS } from './commands/eval';
import { mapsCommand } from './commands/maps';
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
    .command('train')
    .description('self-supervised training from a YAML/JSON config; ends with kNN and linear-probe accuracy')
    .requiredOption('-c, --config <file>', 'config file (configs/*.yaml)')
    .option('--set <key.path=value>', 'override any config key, e.g. train.epochs=5 (repeatable)', collect)
    .option(
      '--backend <name>',
      'cpu | wasm | node | node-gpu | auto (default: SELFSUP_BACKEND, config, auto)',
    )
    .option(
      '--workers <n>',
      'data-parallel worker threads, this one included (sets train.workers)',
      int('--workers'),
    )
    .option('--threads <n>', 'backend threads per worker, wasm (sets train.threads)', int('--threads'))
    .option('--out <dir>', 'run directory (default runs/<config name>)')
    .option('--resume', 'continue from the last good checkpoint in the run directory')
    .option('-q, --quiet', 'plain log lines instead of a progress bar')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .action(run((opts) => trainCommand(opts)));

  program
    .command('eval <kind>')
    .description(`evaluate a checkpoint: ${EVAL_KINDS.join(' | ')}`)
    .requiredOption('--checkpoint <path>', 'checkpoint file, checkpoints/ folder or run folder')
    .option('-c, --config <file>', "config (default: the run's config.yaml)")
    .option('--set <key.path=value>', 'override a config key (repeatable)', collect)
    .option(
      '--fraction <f>',
      'semi: label fraction, e.g. 0.01 (repeatable)',
      (v: string, p: number[] = []) => {
        const f = Number(v);
        if (!(f > 0 && f <= 1)) throw new InvalidArgumentError(`--fraction must be in (0, 1], got '${v}'`);
        return [...p, f];
      },
    )
    .option('--epochs <n>', 'probe / fine-tuning epochs', int('--epochs'))
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | webgpu | auto')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'one JSON line')
    .action(run((kind: string, opts) => evalCommand(kind, opts)));

  program
    .command('maps')
    .description("draw every slot's alignment map over images and score map mass on the object masks")
    .requiredOption('--checkpoint <path>', 'checkpoint file, checkpoints/ folder or run folder')
    .option('--images <dir>', "folder of PNG/JPEG images (default: the run's held-out data, with masks)")
    .option('--out <dir>', 'where the PNG grid goes (default <run>/maps)')
    .option('-c, --config <file>', "config (default: the run's config.yaml)")
    .option('--set <key.path=value>', 'override a config key (repeatable)', collect)
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | webgpu | auto')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'one JSON line')
    .action(run((opts) => mapsCommand(opts)));

  program
    .command('parity <dir>')
    .description(
      'run a PyTorch golden fixture (fixture.json + safetensors) and compare every tensor and loss',
    )
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | webgpu | auto')
    .option('--plugin <pkg>', 'load an extra plugin package or file (repeatable)', collect)
    .option('--json', 'print the whole report as JSON')
    .option('-v, --verbose', 'list every tensor check')
    .action(run((dir: string, opts) => parityCommand(dir, opts)));

  program
    .command('bench')
    .description('time one full training step (both views, backward, optimizer, EMA, queue) on random data')
    .requiredOption('--method <name>', 'byol | moco | lewel_b | lewel_m')
    .option('--backend <name>', 'cpu | wasm | node | node-gpu | webgpu | auto')
    .option('--threads <n>', 'backend threads per worker (wasm)', int('--threads'))
    .option('--workers <n>', 'data-parallel worker threads, this one included', int('--workers'))
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
