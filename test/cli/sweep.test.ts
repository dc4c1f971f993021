/**
 * `selfsup sweep`: a grid of runs in-process and as child processes, skipping finished runs,
 * resuming a killed sweep, the Slurm / Kubernetes files it emits (parsed and executed per
 * index with a stand-in `selfsup`), `--collect`, and bad input naming the flag and value.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { parseGrid, planRuns } from '@selfsup/node';
import { REPO, errorLines, isPng, readJsonLines, runCli, tmpDir, writeTinyConfig } from './helpers';

/** The CLI from the TypeScript sources in a child process (what sweep --parallel spawns under vitest). */
const TS_CLI = join(REPO, 'packages/node/src/cli/ts-cli.mjs');
const SELFSUP_FROM_SOURCE = `${process.execPath} ${TS_CLI}`;

let dir: string;
let config: string;
/** The 2 values x 2 seeds sweep: 2 steps per run. */
let sweepDir: string;
const GRID = ['--grid', 'optimizer.lr=0.03,0.06', '--seeds', '0,1'];
const TINY = ['--set', 'train.maxSteps=2', '--backend', 'cpu', '-q'];
const NAMES = [
  'optimizer.lr=0.03__seed0',
  'optimizer.lr=0.03__seed1',
  'optimizer.lr=0.06__seed0',
  'optimizer.lr=0.06__seed1',
];

const sweep = (...args: string[]) => runCli(['sweep', '-c', config, ...args]);
const read = (...p: string[]) => readFileSync(join(...p), 'utf8');
const final = (run: string) => JSON.parse(read(run, 'final.json')) as Record<string, number>;
const csvRows = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => l.split(','));

beforeAll(() => {
  dir = tmpDir('sweep');
  config = writeTinyConfig(dir, 'tiny', 'moco');
  sweepDir = join(dir, 'grid');
});

describe('selfsup sweep (in-process)', () => {
  it('runs every combination x seed into a run directory and tabulates them', async () => {
    const r = await sweep(...GRID, ...TINY, '--out', sweepDir);
    expect(errorLines(r.stderr), r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`sweep: 4 runs (2 combinations x 2 seeds) -> ${sweepDir}`);
    for (const name of NAMES) {
      const run = join(sweepDir, name);
      expect(existsSync(join(run, 'final.json')), name).toBe(true);
      // A normal run directory, with the grid value and the seed in its resolved config.
      const resolved = YAML.parse(read(run, 'config.yaml'));
      expect(resolved.optimizer.lr).toBe(Number(/lr=([\d.]+)/.exec(name)![1]));
      expect(resolved.train.seed).toBe(Number(name.at(-1)));
      expect(resolved.train.maxSteps).toBe(2);
      expect(readJsonLines(join(run, 'metrics.jsonl')).at(-1)?.step).toBe(2);
    }

    // Per run: the numbers of each final.json.
    const rows = csvRows(read(sweepDir, 'sweep.csv'));
    expect(rows[0]).toEqual([
      'run',
      'optimizer.lr',
      'seed',
      'status',
      'epochs',
      'knn',
      'knn_untrained',
      'knn_pixels',
      'knn_gain',
      'linear',
      'last_loss',
      'peak_knn',
      'peak_epoch',
      'maps_lift',
    ]);
    expect(rows.slice(1).map((row) => row[0])).toEqual(NAMES);
    for (const row of rows.slice(1)) {
      const f = final(join(sweepDir, row[0]));
      expect(row[3]).toBe('done');
      expect(Number(row[5])).toBeCloseTo(f.knn, 2);
      expect(Number(row[6])).toBeCloseTo(f.knnUntrained, 2);
      expect(row[7]).toBe(f.knnPixels.toFixed(2));
      expect(Number(row[8])).toBeCloseTo(f.knn - f.knnUntrained, 2);
      expect(Number(row[9])).toBeCloseTo(f.linear, 2);
      expect(Number(row[10])).toBeCloseTo(f.lastLoss, 4);
    }

    // Per combination: mean and sample std over the two seeds.
    const summary = csvRows(read(sweepDir, 'sweep-summary.csv'));
    expect(summary.slice(1).map((row) => row.slice(0, 4))).toEqual([
      ['optimizer.lr=0.03', '0.03', '0 1', '2'],
      ['optimizer.lr=0.06', '0.06', '0 1', '2'],
    ]);
    const col = (name: string) => summary[0].indexOf(name);
    expect(summary[0].slice(4, 10)).toEqual([
      'knn_mean',
      'knn_std',
      'knn_untrained_mean',
      'knn_untrained_std',
      'knn_pixels_mean',
      'knn_pixels_std',
    ]);
    for (const [i, lr] of ['0.03', '0.06'].entries()) {
      const finals = [0, 1].map((s) => final(join(sweepDir, `optimizer.lr=${lr}__seed${s}`)));
      for (const [column, key, digits] of [
        ['last_loss', 'lastLoss', 4],
        ['knn_pixels', 'knnPixels', 2],
      ] as const) {
        const values = finals.map((f) => f[key]);
        const mean = (values[0] + values[1]) / 2;
        const std = Math.abs(values[0] - values[1]) / Math.SQRT2;
        // Printed to `digits` places: within half a unit of the last place (15.625 prints 15.63).
        const printed = (name: string) => Number(summary[i + 1][col(name)]);
        expect(Math.abs(printed(`${column}_mean`) - mean)).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
        expect(Math.abs(printed(`${column}_std`) - std)).toBeLessThanOrEqual(0.5 * 10 ** -digits + 1e-9);
      }
    }
    const md = read(sweepDir, 'sweep.md');
    expect(md).toContain(
      '| optimizer.lr | seeds done | kNN % | untrained kNN % | raw-pixel kNN % | kNN gain |',
    );
    expect(md).toContain('| run | status | epochs | kNN % | untrained | raw pixels | gain |');
    expect(md).toContain('| 0.03 | 2/2 |');
    expect(r.stdout.endsWith(md), r.stdout).toBe(true); // after each run's own score lines
    expect(isPng(join(sweepDir, 'sweep.png'))).toBe(true);
    const manifest = JSON.parse(read(sweepDir, 'sweep.json'));
    expect(manifest.runs.map((x: { name: string }) => x.name)).toEqual(NAMES);
    expect(manifest.command).toBe(
      `selfsup sweep --config ${config} --grid optimizer.lr=0.03,0.06 --seeds 0,1 --set train.maxSteps=2 --backend cpu --out ${sweepDir}`,
    );
  });

  it('a rerun skips finished runs and gives the same table', async () => {
    const mtimes = NAMES.map((n) => statSync(join(sweepDir, n, 'final.json')).mtimeMs);
    const before = read(sweepDir, 'sweep.csv');
    const r = await sweep(...GRID, ...TINY, '--out', sweepDir);
    expect(r.code, r.stderr).toBe(0);
    for (const [i, name] of NAMES.entries())
      expect(r.stderr).toContain(`sweep [${i + 1}/4] ${name}: finished before (final.json), skipped`);
    expect(r.stderr).not.toContain('train cluttered');
    expect(NAMES.map((n) => statSync(join(sweepDir, n, 'final.json')).mtimeMs)).toEqual(mtimes);
    expect(read(sweepDir, 'sweep.csv')).toBe(before);
  });

  it('a sweep grows: new grid values or seeds join the directory, its table and its command', async () => {
    const grown = join(dir, 'grown');
    cpSync(sweepDir, grown, { recursive: true });
    const r = await sweep('--grid', 'optimizer.lr=0.12', '--seeds', '0', ...TINY, '--out', grown);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sweep: 1 runs (1 combinations x 1 seeds)');
    const manifest = JSON.parse(read(grown, 'sweep.json'));
    expect(manifest.runs.map((x: { name: string; index: number }) => [x.index, x.name])).toEqual([
      ...NAMES.map((n, i) => [i, n]),
      [4, 'optimizer.lr=0.12__seed0'],
    ]);
    expect(manifest.command).toContain('--grid optimizer.lr=0.03,0.06,0.12 --seeds 0,1 ');
    const summary = csvRows(read(grown, 'sweep-summary.csv')).slice(1);
    expect(summary.map((row) => [row[0], row[2], row[3]])).toEqual([
      ['optimizer.lr=0.03', '0 1', '2'],
      ['optimizer.lr=0.06', '0 1', '2'],
      ['optimizer.lr=0.12', '0', '1'],
    ]);
  });

  it('a sweep killed in a run resumes that run from its checkpoint and skips the finished ones', async () => {
    // 16 images, batch 8: 2 steps an epoch, a checkpoint after each of the 2 epochs.
    const sets = ['--grid', 'optimizer.lr=0.03,0.06', '--set', 'data.count=16', '--backend', 'cpu', '-q'];
    const ref = join(dir, 'ref');
    expect((await sweep(...sets, '--out', ref)).code).toBe(0);
    // What a kill during the second run's second epoch leaves: its epoch-1 checkpoint and metrics line.
    const killed = join(dir, 'killed');
    cpSync(ref, killed, { recursive: true });
    for (const f of ['sweep.csv', 'sweep-summary.csv', 'sweep.md', 'sweep.png']) rmSync(join(killed, f));
    const second = join(killed, 'optimizer.lr=0.06__seed0');
    rmSync(join(second, 'final.json'));
    rmSync(join(second, 'checkpoints', 'checkpoint-00000004.safetensors'));
    const metrics = read(second, 'metrics.jsonl').split('\n');
    writeFileSync(join(second, 'metrics.jsonl'), `${metrics[0]}\n`);

    const r = await sweep(...sets, '--out', killed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sweep [1/2] optimizer.lr=0.03__seed0: finished before (final.json), skipped');
    expect(r.stderr).toContain('sweep [2/2] optimizer.lr=0.06__seed0: resuming from its last checkpoint');
    expect(r.stderr).toContain(
      `resumed from ${join(second, 'checkpoints', 'checkpoint-00000002.safetensors')}`,
    );
    expect(read(killed, 'sweep.csv')).toBe(read(ref, 'sweep.csv'));
  });

  it('a sweep process killed with SIGKILL mid-run is resumed by running it again', async () => {
    const sets = ['--grid', 'optimizer.lr=0.03,0.06', '--set', 'data.count=64', '--backend', 'cpu', '-q'];
    const out = join(dir, 'sigkill');
    const child = spawn(process.execPath, [TS_CLI, 'sweep', '-c', config, ...sets, '--out', out], {
      cwd: dir,
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, s) => res(s)));
    let done = false;
    void exited.then(() => (done = true));
    // 64 images / batch 8 = 8 steps an epoch: the second run's epoch-1 checkpoint, then kill.
    const ck = join(out, 'optimizer.lr=0.06__seed0', 'checkpoints', 'checkpoint-00000008.safetensors');
    const t0 = Date.now();
    while (!existsSync(ck) && !done && Date.now() - t0 < 120_000)
      await new Promise((res) => setTimeout(res, 20));
    expect(existsSync(ck), 'the second run never wrote its epoch-1 checkpoint').toBe(true);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(join(out, 'optimizer.lr=0.03__seed0', 'final.json'))).toBe(true);
    expect(existsSync(join(out, 'optimizer.lr=0.06__seed0', 'final.json'))).toBe(false);

    const r = await sweep(...sets, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('sweep [1/2] optimizer.lr=0.03__seed0: finished before (final.json), skipped');
    expect(r.stderr).toMatch(/sweep \[2\/2\] optimizer\.lr=0\.06__seed0: resuming from its last checkpoint/);
    expect(r.stderr).toMatch(/resumed from .*checkpoint-0000000[89]\.safetensors/);
    expect(csvRows(read(out, 'sweep.csv')).map((row) => row[3])).toEqual(['status', 'done', 'done']);
  }, 240_000);

  it('--parallel 2 runs child processes and gives the same table', async () => {
    const out = join(dir, 'parallel');
    const r = await sweep(...GRID, ...TINY, '--parallel', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    for (const name of NAMES) {
      expect(r.stderr).toContain(`(log: ${join(out, 'logs', `${name}.log`)})`);
      expect(read(out, 'logs', `${name}.log`)).toContain('kNN top-1');
    }
    expect(read(out, 'sweep.csv')).toBe(read(sweepDir, 'sweep.csv'));
    expect(read(out, 'sweep-summary.csv')).toBe(read(sweepDir, 'sweep-summary.csv'));
  }, 240_000);

  it('a run that fails does not stop the others; the sweep names it and exits non-zero', async () => {
    // heads must divide the head's output dim (16): the schema accepts 3, building the model does not.
    const lewel = writeTinyConfig(dir, 'lewel', 'lewel_m');
    const out = join(dir, 'failing');
    const r = await runCli(['sweep', '-c', lewel, '--grid', 'aggregator.heads=3,4', ...TINY, '--out', out]);
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^selfsup: sweep: aggregator\.heads=3__seed0 failed \(lewel: heads \(3\) must divide .*\); run the same command again to retry/,
    );
    expect(existsSync(join(out, 'aggregator.heads=4__seed0', 'final.json'))).toBe(true);
    expect(csvRows(read(out, 'sweep.csv')).map((row) => row[3])).toEqual(['status', 'pending', 'done']);
  });

  it('--collect builds the same table, from sweep.json or from the run directories alone', async () => {
    const copy = join(dir, 'collect');
    cpSync(sweepDir, copy, { recursive: true });
    for (const f of ['sweep.csv', 'sweep-summary.csv', 'sweep.md', 'sweep.png']) rmSync(join(copy, f));
    const r = await runCli(['sweep', '--collect', copy]);
    expect(r.code, r.stderr).toBe(0);
    expect(read(copy, 'sweep.csv')).toBe(read(sweepDir, 'sweep.csv'));
    expect(read(copy, 'sweep-summary.csv')).toBe(read(sweepDir, 'sweep-summary.csv'));
    expect(isPng(join(copy, 'sweep.png'))).toBe(true);

    // Without sweep.json: the key that differs between the run configs (optimizer.lr) is the grid.
    rmSync(join(copy, 'sweep.json'));
    const bare = await runCli(['sweep', '--collect', copy]);
    expect(bare.code, bare.stderr).toBe(0);
    expect(read(copy, 'sweep.csv')).toBe(read(sweepDir, 'sweep.csv'));
    expect(read(copy, 'sweep-summary.csv')).toBe(read(sweepDir, 'sweep-summary.csv'));
  });

  it('runs from before the raw-pixel baseline (no knnPixels in final.json) leave its cells empty', async () => {
    const old = join(dir, 'old-finals');
    cpSync(sweepDir, old, { recursive: true });
    for (const name of NAMES.slice(0, 3)) {
      const older = final(join(old, name));
      delete older.knnPixels;
      writeFileSync(join(old, name, 'final.json'), `${JSON.stringify(older, null, 2)}\n`);
    }
    const r = await runCli(['sweep', '--collect', old]);
    expect(r.code, r.stderr).toBe(0);
    const rows = csvRows(read(old, 'sweep.csv'));
    const pixels = rows[0].indexOf('knn_pixels');
    expect(rows.slice(1).map((row) => row[pixels])).toEqual([
      '',
      '',
      '',
      final(join(sweepDir, NAMES[3])).knnPixels.toFixed(2),
    ]);
    // Per combination: lr=0.03 has no value at all, lr=0.06 the one seed that has it.
    const summary = csvRows(read(old, 'sweep-summary.csv'));
    const mean = summary[0].indexOf('knn_pixels_mean');
    expect(summary.slice(1).map((row) => [row[mean], row[mean + 1]])).toEqual([
      ['', ''],
      [final(join(sweepDir, NAMES[3])).knnPixels.toFixed(2), ''],
    ]);
    const md = read(old, 'sweep.md');
    const cells = (line: string) => line.slice(2, -2).split(' | ');
    const lines = md.split('\n');
    const pixelsColumn = (head: string, name: string) =>
      cells(lines.find((l) => l.startsWith(head))!).indexOf(name);
    const combo = pixelsColumn('| optimizer.lr |', 'raw-pixel kNN %');
    expect(cells(lines.find((l) => l.startsWith('| 0.03 |'))!)[combo]).toBe('');
    expect(cells(lines.find((l) => l.startsWith('| 0.06 |'))!)[combo]).toBe(
      `${final(join(sweepDir, NAMES[3])).knnPixels.toFixed(2)} (1 seed)`,
    );
    const perRun = pixelsColumn('| run |', 'raw pixels');
    expect(lines.filter((l) => l.startsWith('| optimizer.lr=')).map((l) => cells(l)[perRun])).toEqual([
      '',
      '',
      '',
      final(join(sweepDir, NAMES[3])).knnPixels.toFixed(2),
    ]);
    expect(md).not.toMatch(/undefined|NaN/);
  });
});

/** Runs an emitted index script with `selfsup` replaced by `echo`: prints the train command it would run. */
function runIndex(script: string, env: Record<string, string>, selfsup = 'echo selfsup') {
  const r = spawnSync('bash', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, SELFSUP: selfsup, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const trainLine = (out: string, name: string, set: string[], more = '') =>
  `selfsup train --config ${config} ${set.map((s) => `--set ${s}`).join(' ')} --out ${out}/${name} -q${more} --backend cpu\n`;

describe('selfsup sweep --emit', () => {
  it('slurm: a job-array script with one index per run that skips, resumes and requeues', async () => {
    const out = join(dir, 'slurm');
    const r = await sweep(...GRID, ...TINY, '--emit', 'slurm', '--sbatch', '--partition=cpu', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const file = join(out, 'sweep.slurm.sh');
    expect(r.stdout).toContain(file);
    expect(readdirSync(out).sort()).toEqual(['logs', 'sweep.json', 'sweep.slurm.sh']);
    const script = read(file);
    expect(spawnSync('bash', ['-n', file]).status).toBe(0);
    const sbatch = script.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(sbatch).toEqual([
      '#SBATCH --job-name=selfsup-slurm',
      '#SBATCH --array=0-3',
      `#SBATCH --output=${out}/logs/%A_%a.out`,
      '#SBATCH --ntasks=1',
      '#SBATCH --cpus-per-task=2',
      '#SBATCH --requeue',
      '#SBATCH --open-mode=append',
      '#SBATCH --signal=B:USR1@120',
      '#SBATCH --partition=cpu',
    ]);
    // #SBATCH lines are comments to bash, so they must all come before the first command.
    const lines = script.split('\n');
    const firstCommand = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    const lastSbatch = lines.map((l) => l.startsWith('#SBATCH')).lastIndexOf(true);
    expect(lastSbatch).toBeLessThan(firstCommand);

    for (const [i, name] of NAMES.entries()) {
      const lr = name.includes('0.03') ? '0.03' : '0.06';
      const got = runIndex(script, { SLURM_ARRAY_TASK_ID: String(i), SLURM_SUBMIT_DIR: dir });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(
        trainLine(out, name, ['train.maxSteps=2', `optimizer.lr=${lr}`, `train.seed=${name.at(-1)}`]),
      );
    }
    const missing = runIndex(script, { SLURM_ARRAY_TASK_ID: '4', SLURM_SUBMIT_DIR: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no run for index 4 (expected 0-3)');

    // On shared storage the run directories fill in: a finished run is skipped, a started one resumed.
    cpSync(join(sweepDir, NAMES[0]), join(out, NAMES[0]), { recursive: true });
    const skip = runIndex(script, { SLURM_ARRAY_TASK_ID: '0', SLURM_SUBMIT_DIR: dir });
    expect(skip.stdout).toContain(`${out}/${NAMES[0]} is finished (final.json); nothing to do`);
    cpSync(join(sweepDir, NAMES[1]), join(out, NAMES[1]), { recursive: true });
    rmSync(join(out, NAMES[1], 'final.json'));
    const resume = runIndex(script, { SLURM_ARRAY_TASK_ID: '1', SLURM_SUBMIT_DIR: dir });
    expect(resume.stdout).toBe(
      trainLine(out, NAMES[1], ['train.maxSteps=2', 'optimizer.lr=0.03', 'train.seed=1'], ' --resume'),
    );

    // A preemption signal stops the trainer (it gets TERM) and the task exits 0 for the requeue.
    // (SELFSUP is word-split like a command line, so the stand-in trainer is a script file.)
    const trainer = join(dir, 'slow-trainer.sh');
    writeFileSync(
      trainer,
      "trap 'echo trainer got TERM; kill $!; exit 0' TERM\nsleep 30 > /dev/null &\nwait\n",
    );
    const slow = runIndex(
      `(sleep 1; kill -TERM $$) & ${script}`,
      { SLURM_ARRAY_TASK_ID: '2', SLURM_SUBMIT_DIR: dir },
      `bash ${trainer}`,
    );
    expect(slow.code, slow.stderr).toBe(0);
    expect(slow.stdout).toContain('trainer got TERM');
    expect(slow.stderr).toContain('TERM received: stopping');

    // The real thing for the last index: the CLI trains it, then --collect tabulates the folder.
    cpSync(join(sweepDir, NAMES[1]), join(out, NAMES[1]), { recursive: true });
    cpSync(join(sweepDir, NAMES[2]), join(out, NAMES[2]), { recursive: true });
    const real = runIndex(script, { SLURM_ARRAY_TASK_ID: '3', SLURM_SUBMIT_DIR: dir }, SELFSUP_FROM_SOURCE);
    expect(real.code, real.stderr).toBe(0);
    const collected = await runCli(['sweep', '--collect', out]);
    expect(collected.code, collected.stderr).toBe(0);
    expect(read(out, 'sweep.csv')).toBe(read(sweepDir, 'sweep.csv'));
  }, 240_000);

  const sbatch = spawnSync('sbatch', ['--version']).status === 0;
  it.skipIf(!sbatch)('slurm: sbatch --test-only accepts the script', async () => {
    const out = join(dir, 'slurm-test-only');
    expect((await sweep(...GRID, ...TINY, '--emit', 'slurm', '--out', out)).code).toBe(0);
    const r = spawnSync('sbatch', ['--test-only', join(out, 'sweep.slurm.sh')], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });

  it('kubernetes: an Indexed Job whose completion index selects the run', async () => {
    const out = join(dir, 'k8s');
    const r = await sweep(
      ...GRID,
      ...TINY,
      '--emit',
      'kubernetes',
      '--parallel',
      '2',
      '--image',
      'ghcr.io/example/selfsup:1',
      '--pvc',
      'shared-runs',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const job = YAML.parse(read(out, 'sweep.k8s.yaml'));
    expect(job).toMatchObject({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'selfsup-k8s' },
      spec: {
        completionMode: 'Indexed',
        completions: 4,
        parallelism: 2,
        template: { spec: { restartPolicy: 'Never' } },
      },
    });
    expect(job.spec.podFailurePolicy.rules[0]).toEqual({
      action: 'Ignore',
      onPodConditions: [{ type: 'DisruptionTarget' }],
    });
    const pod = job.spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'shared', persistentVolumeClaim: { claimName: 'shared-runs' } }]);
    const [container] = pod.containers;
    expect(container.image).toBe('ghcr.io/example/selfsup:1');
    expect(container.volumeMounts).toEqual([{ name: 'shared', mountPath: container.workingDir }]);
    expect(container.command.slice(0, 2)).toEqual(['bash', '-c']);
    const script = container.command[2] as string;
    expect(spawnSync('bash', ['-n', '-c', script]).status).toBe(0);
    for (const [i, name] of NAMES.entries()) {
      const lr = name.includes('0.03') ? '0.03' : '0.06';
      const got = runIndex(script, { JOB_COMPLETION_INDEX: String(i) });
      expect(got.code, got.stderr).toBe(0);
      expect(got.stdout).toBe(
        trainLine(out, name, ['train.maxSteps=2', `optimizer.lr=${lr}`, `train.seed=${name.at(-1)}`]),
      );
    }
  });

  // Client-side dry run: needs kubectl and an API server to map the kind, so it is skipped without one.
  const kubectl =
    spawnSync('kubectl', ['version', '--request-timeout=5s'], { encoding: 'utf8', timeout: 15_000 })
      .status === 0;
  it.skipIf(!kubectl)('kubernetes: kubectl apply --dry-run=client accepts the manifest', async () => {
    const out = join(dir, 'k8s-dry');
    expect((await sweep(...GRID, ...TINY, '--emit', 'kubernetes', '--out', out)).code).toBe(0);
    const r = spawnSync('kubectl', ['apply', '--dry-run=client', '-f', join(out, 'sweep.k8s.yaml')], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('selfsup sweep: bad input names the flag and value; nothing is created', () => {
  const fails = async (args: string[]) => {
    const out = join(dir, `bad-${Math.random().toString(36).slice(2)}`);
    const r = await runCli([...args, '--out', out]);
    expect(r.code, r.stderr).toBe(2);
    expect(errorLines(r.stderr), r.stderr).toHaveLength(1);
    expect(existsSync(out)).toBe(false);
    return r.stderr.slice(r.stderr.indexOf('selfsup: '));
  };

  it('an unknown config key in --grid goes through the config key-path errors', async () => {
    const msg = await fails(['sweep', '-c', config, '--grid', 'train.epoch=1,2']);
    expect(msg).toContain(`selfsup: ${config} (with --grid train.epoch=1): invalid config`);
    expect(msg).toContain("train: unknown key(s) 'epoch'");
    expect(msg).toContain("did you mean 'epochs' for 'epoch'?");
  });

  it('an option the method does not know, or a bad value, names the --grid value', async () => {
    const unknown = await fails(['sweep', '-c', config, '--grid', 'method.temprature=0.1']);
    expect(unknown).toContain(
      `selfsup: ${config} (with --grid method.temprature=0.1) (method 'moco'): invalid config`,
    );
    expect(unknown).toContain("unknown key(s) 'temprature'");
    // Only the second value is bad: every combination is checked before any run starts.
    const bad = await fails(['sweep', '-c', config, '--grid', 'train.batchSize=8,1']);
    expect(bad).toContain(`(with --grid train.batchSize=1): invalid config`);
    expect(bad).toContain('train.batchSize: got 1');
  });

  it('grid values may be YAML lists: commas inside brackets do not split them', () => {
    expect(parseGrid(['backbone.widths=[4,8],[8,16]', "data.views='a,b',byol"])).toEqual([
      { key: 'backbone.widths', values: ['[4,8]', '[8,16]'] },
      { key: 'data.views', values: ["'a,b'", 'byol'] },
    ]);
    expect(planRuns(parseGrid(['backbone.widths=[4,8],[8,16]']), [0], []).map((r) => r.name)).toEqual([
      'backbone.widths=_4,8___seed0',
      'backbone.widths=_8,16___seed0',
    ]);
  });

  it('malformed flags', async () => {
    expect(await fails(['sweep', '-c', config, '--grid', 'optimizer.lr'])).toBe(
      'selfsup: --grid optimizer.lr: expected key.path=value1,value2,... (e.g. optimizer.lr=0.03,0.06)\n',
    );
    expect(await fails(['sweep', '-c', config, '--grid', 'optimizer.lr=0.1,,0.2'])).toContain(
      'selfsup: --grid optimizer.lr=0.1,,0.2: empty value',
    );
    expect(await fails(['sweep', '-c', config, '--grid', 'train.seed=1,2'])).toContain(
      'selfsup: --grid train.seed=1,2: seeds are given with --seeds',
    );
    expect(await fails(['sweep', '-c', config, '--seeds', '0,x'])).toContain(
      "selfsup: --seeds 0,x: 'x' is not a non-negative integer",
    );
    expect(await fails(['sweep', '-c', config, '--emit', 'pbs'])).toBe(
      'selfsup: --emit pbs: expected one of slurm, kubernetes\n',
    );
    expect(await fails(['sweep', '-c', join(dir, 'nope.yaml')])).toContain(
      `selfsup: ${join(dir, 'nope.yaml')}: cannot read config file (ENOENT)`,
    );
    expect(await fails(['sweep'])).toBe('selfsup: sweep: --config FILE is required (or --collect DIR)\n');
    const collect = await runCli(['sweep', '--collect', join(dir, 'nowhere')]);
    expect(errorLines(collect.stderr)).toEqual([
      `selfsup: --collect ${join(dir, 'nowhere')}: no such folder`,
    ]);
  });

  it('a finished run trained under other settings than the plan is refused before anything runs', async () => {
    const copy = join(dir, 'changed');
    cpSync(sweepDir, copy, { recursive: true });
    const run = join(copy, NAMES[3]);
    writeFileSync(join(run, 'config.yaml'), read(run, 'config.yaml').replace('lr: 0.06', 'lr: 0.07'));
    rmSync(join(copy, NAMES[0], 'final.json')); // would resume, if the sweep went ahead
    const r = await sweep(...GRID, ...TINY, '--out', copy);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([
      `selfsup: sweep: run ${run} finished under other settings than planned: optimizer.lr (0.07 -> 0.06); ` +
        'delete that run directory to train it again, or choose another --out',
    ]);
    expect(r.stderr).not.toContain('resuming');
  });

  it('a sweep directory of another grid is refused', async () => {
    const msg = await runCli([
      'sweep',
      '-c',
      config,
      '--grid',
      'method.temperature=0.1',
      ...TINY,
      '--out',
      sweepDir,
    ]);
    expect(msg.code).toBe(2);
    expect(errorLines(msg.stderr)).toEqual([
      `selfsup: --out ${sweepDir}: ${join(sweepDir, 'sweep.json')} holds a sweep of grid keys optimizer.lr, not method.temperature; choose another --out`,
    ]);
  });
});
