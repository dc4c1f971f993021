import 'reflect-metadata';
import { Command, InvalidArgumentError } from 'commander';
import { infoCommand } from './commands/info';
import { parityCommand } from './commands/parity';
import { benchCommand } from './commands/bench';
import { trainCommand } from './commands/train';
import { evalCommand, EVAL_KINDS } from './commands/eval';
import { mapsCommand } from './commands/maps';
import { sweepCommand, EMIT_KINDS } from './commands/sweep';
import { exportCommand } from './commands/export';
import { embedCommand } from './commands/embed';
import { SELFSUP_VERSION } from './version';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
  return n;
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Every command chooses its backend the same way and prints what it picked and why. */
const BACKEND_HELP =
  "cpu | wasm | webgpu | node | node-gpu | auto (default: SELFSUP_BACKEND, then the config's backend:, then auto)";
const PLUGIN_HELP = "load a plugin package or file (repeatable; joins the config's plugins:)";

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
    .description(
      'backends available here, versions, which one auto picks, and every registered type; ' +
        'with KIND [TYPE] (e.g. `info viewpipeline byol`): its types, or one type and its options',
    )
    .argument('[kind]', 'a registry kind as listed, e.g. method, aggregator, viewpipeline, dataset')
    .argument('[type]', 'a registered type of that kind, e.g. byol')
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option('--json', 'one JSON object')
    .action(run((kind, type, opts) => infoCommand({ ...opts, kind, type })));

  program
    .command('train')
    .description('self-supervised training from a YAML/JSON config; ends with kNN and linear-probe accuracy')
    .requiredOption('-c, --config <file>', 'config file (configs/*.yaml)')
    .option('--set <key.path=value>', 'override any config key, e.g. train.epochs=5 (repeatable)', collect)
    .option('--backend <name>', BACKEND_HELP)
    .option(
      '--workers <n>',
      'data-parallel worker threads, this one included (sets train.workers)',
      int('--workers'),
    )
    .option('--threads <n>', 'backend threads per worker, wasm (sets train.threads)', int('--threads'))
    .option('--out <dir>', 'run directory (default runs/<config name>)')
    .option('--resume', 'continue from the last good checkpoint in the run directory')
    .option('-q, --quiet', 'plain log lines instead of a progress bar')
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option(
      '--init-from <file[:prefix]>',
      'start from saved weights: a torchvision-named backbone (safetensors) or a selfsup checkpoint',
    )
    .action(run((opts) => trainCommand(opts)));

  program
    .command('eval <kind>')
    .description(`evaluate a checkpoint: ${EVAL_KINDS.join(' | ')}`)
    .option(
      '--checkpoint <path>',
      'checkpoint file, checkpoints/ folder or run folder (required but with knn --pixels -c)',
    )
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
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option(
      '--pixels',
      "knn: the raw-pixel kNN of the run's data (the baseline), not the network's; with -c FILE needs no checkpoint",
    )
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
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option('--json', 'one JSON line')
    .action(run((opts) => mapsCommand(opts)));

  program
    .command('sweep')
    .description(
      'train every combination of --grid values x --seeds into its own run directory (finished runs are skipped, ' +
        'half-finished ones resumed) and tabulate kNN, linear probe, untrained baseline and loss; ' +
        'or write a Slurm job array / Kubernetes Indexed Job instead (--emit), or tabulate run directories (--collect)',
    )
    .option('-c, --config <file>', 'config file every run starts from')
    .option(
      '--grid <key.path=v1,v2>',
      'a config key and its values, e.g. optimizer.lr=0.03,0.06 (repeatable)',
      collect,
    )
    .option('--seeds <list>', "seeds of each combination, e.g. 0,1,2 (default: the config's train.seed)")
    .option('--set <key.path=value>', 'override a config key in every run (repeatable)', collect)
    .option(
      '--parallel <n>',
      'runs at a time, as child processes (default 1: one after another)',
      int('--parallel'),
    )
    .option('--out <dir>', 'sweep directory (default runs/sweep-<config name>)')
    .option('--emit <kind>', `write a job file instead of running: ${EMIT_KINDS.join(' | ')}`)
    .option('--collect <dir>', 'only build the table (CSV, Markdown, plot) from the run directories in DIR')
    .option(
      '--sbatch <option>',
      "--emit slurm: an extra #SBATCH option, e.g. '--partition=cpu' (repeatable)",
      collect,
    )
    .option('--image <name>', '--emit kubernetes: container image with Node.js 20 (default node:20-bookworm)')
    .option(
      '--pvc <name>',
      '--emit kubernetes: claim of the shared volume holding the checkout (default selfsup-shared)',
    )
    .option('--backend <name>', BACKEND_HELP)
    .option(
      '--threads <n>',
      'backend threads per run (default with --parallel: cores / parallel)',
      int('--threads'),
    )
    .option('-q, --quiet', 'plain log lines instead of a progress bar')
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .action(run((opts) => sweepCommand(opts)));

  program
    .command('export')
    .description('a trained network for other tools: a torchvision state dict or a tfjs LayersModel')
    .requiredOption('--checkpoint <path>', 'checkpoint file, checkpoints/ folder or run folder')
    .requiredOption('--format <name>', 'torchvision | tfjs')
    .option('--what <part>', 'backbone (default) | online | target', 'backbone')
    .option('--out <path>', 'file (torchvision) or folder (tfjs); default <run>/export/...')
    .option('-c, --config <file>', "config (default: the run's config.yaml)")
    .option('--set <key.path=value>', 'override a config key (repeatable)', collect)
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .action(run((opts) => exportCommand(opts)));

  program
    .command('embed')
    .description('backbone features of every image of a folder or a dataset, to safetensors, npy or jsonl')
    .requiredOption('--checkpoint <path>', 'checkpoint file, checkpoints/ folder or run folder')
    .requiredOption('--out <file>', 'FILE.safetensors | FILE.npy | FILE.jsonl')
    .option(
      '--images <dir>',
      "folder of PNG/JPEG images (class subfolders give labels); default: the config's dataset",
    )
    .option('-c, --config <file>', "config whose data.* to embed (default: the run's config.yaml)")
    .option('--set <key.path=value>', 'override a config key (repeatable)', collect)
    .option('--split <name>', "train | test: which split of the config's dataset", 'train')
    .option('--what <part>', "backbone (default) | target (the target network's backbone)", 'backbone')
    .option('--normalize', 'L2-normalise each feature vector')
    .option('--batch-size <n>', 'images per forward pass', int('--batch-size'), 64)
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option('-q, --quiet', 'no progress bar')
    .action(run((opts) => embedCommand(opts)));

  program
    .command('parity <dir>')
    .description(
      'run a PyTorch golden fixture (fixture.json + safetensors) and compare every tensor and loss',
    )
    .option('--backend <name>', BACKEND_HELP)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option('--json', 'print the whole report as JSON')
    .option('-v, --verbose', 'list every tensor check')
    .action(run((dir: string, opts) => parityCommand(dir, opts)));

  program
    .command('bench')
    .description('time one full training step (both views, backward, optimizer, EMA, queue) on random data')
    .requiredOption(
      '--method <name>',
      'a bench preset: byol | moco | lewel_b | lewel_m, or one a plugin registers',
    )
    .option('--backend <name>', BACKEND_HELP)
    .option('--threads <n>', 'backend threads per worker (wasm)', int('--threads'))
    .option('--workers <n>', 'data-parallel worker threads, this one included', int('--workers'))
    .option('--width <n>', 'ResNet-18 base width (widths w,2w,4w,8w)', int('--width'), 16)
    .option('--res <n>', 'image side in pixels', int('--res'), 32)
    .option('--batch <n>', 'batch size', int('--batch'), 64)
    .option('--steps <n>', 'timed steps after one warm-up step', int('--steps'), 5)
    .option('--plugin <pkg>', PLUGIN_HELP, collect)
    .option('--json', 'only the JSON line')
    .action(run((opts) => benchCommand(opts)));

  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await buildProgram().parseAsync(argv);
}
