/**
 * Resume gives the run an uninterrupted one would have: in-process from a crash state left on
 * disk, and across a real `kill -9` of a `selfsup train` child process (needs the built CLI).
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, errorLines, readJsonLines, runCli, tmpDir, writeTinyConfig } from './helpers';

/** Everything in a metrics line that does not depend on wall-clock time. */
const deterministic = (rows: Array<Record<string, unknown>>) =>
  rows.map(({ imgs_per_s: _i, seconds: _s, ...rest }) => rest);

const listCheckpoints = (runDir: string) =>
  existsSync(join(runDir, 'checkpoints')) ? readdirSync(join(runDir, 'checkpoints')).sort() : [];

describe('train --resume (in-process)', () => {
  it('continues a crashed run to the same metrics and scores; a run directory is never clobbered', async () => {
    const dir = tmpDir('resume');
    const config = writeTinyConfig(dir, 'lewel_m', 'lewel_m');
    const full = join(dir, 'full');
    const r = await runCli(['train', '-c', config, '--out', full, '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);

    // The state a crash during epoch 2's checkpoint leaves: epoch 2's metrics line written, its
    // checkpoint only a temp file, final.json absent.
    const crashed = join(dir, 'crashed');
    cpSync(full, crashed, { recursive: true });
    const ck = join(crashed, 'checkpoints');
    rmSync(join(ck, 'checkpoint-00000008.safetensors'));
    writeFileSync(join(ck, '.tmp-checkpoint-00000008.safetensors.123.abcd'), 'half a file');
    rmSync(join(crashed, 'final.json'));
    const resumed = await runCli(['train', '-c', config, '--out', crashed, '--backend', 'cpu', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resumed from ${join(ck, 'checkpoint-00000004.safetensors')} at step 4`);
    expect(deterministic(readJsonLines(join(crashed, 'metrics.jsonl')))).toEqual(
      deterministic(readJsonLines(join(full, 'metrics.jsonl'))),
    );
    const a = JSON.parse(readFileSync(join(full, 'final.json'), 'utf8'));
    const b = JSON.parse(readFileSync(join(crashed, 'final.json'), 'utf8'));
    expect([b.knn, b.linear, b.lastLoss]).toEqual([a.knn, a.linear, a.lastLoss]);
    expect(resumed.stdout).toBe(r.stdout);

    // Training into a finished run without --resume, or resuming it under a different model,
    // fails before anything in the run directory changes.
    const configBefore = readFileSync(join(full, 'config.yaml'), 'utf8');
    const again = await runCli(['train', '-c', config, '--out', full, '--backend', 'cpu']);
    expect(again.code).not.toBe(0);
    expect(errorLines(again.stderr)).toEqual([
      `selfsup: run directory ${full} already has checkpoints (latest step 8); pass --resume to continue it, or --out to choose a new run directory`,
    ]);
    const changed = await runCli([
      'train',
      '-c',
      config,
      '--out',
      full,
      '--backend',
      'cpu',
      '--resume',
      '--set',
      'optimizer.lr=0.1',
      '--set',
      'train.epochs=3',
    ]);
    expect(changed.code).not.toBe(0);
    const lines = errorLines(changed.stderr);
    expect(lines).toHaveLength(1);
    // Only the lr is named: epochs may change on resume.
    expect(/differ from its config\.yaml: (.*); only/.exec(lines[0])?.[1]).toBe('optimizer.lr (0.06 -> 0.1)');
    expect(lines[0]).toContain(`cannot resume ${full}`);
    expect(readFileSync(join(full, 'config.yaml'), 'utf8')).toBe(configBefore);
    expect(listCheckpoints(full)).toEqual([
      'checkpoint-00000004.safetensors',
      'checkpoint-00000008.safetensors',
    ]);
  });
});

// The CLI moved to @selfsup/node in the platform split; the old packages/core paths never exist,
// which skipped this test silently.
const BIN = join(REPO, 'packages/node/bin/selfsup.js');
const BUILT = ['packages/node/dist/cli.js', 'packages/plugin-byol/dist/index.js'].every((p) =>
  existsSync(join(REPO, p)),
);
if (!BUILT) {
  console.warn(
    'resume.test.ts: skipping the kill -9 test: the CLI is not built (run `npm run build` to include it)',
  );
}

/** Runs the built CLI to completion. */
function cli(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

describe('train --resume after kill -9 (built CLI, child process)', () => {
  it.skipIf(!BUILT)(
    'a run killed mid-epoch 2 and resumed logs the same losses as an uninterrupted one',
    async () => {
      const dir = tmpDir('kill');
      // 64 images: 8 steps an epoch, so epoch 2 lasts long enough to be killed in the middle.
      const config = writeTinyConfig(dir, 'byol', 'byol', '');
      const sets = ['--set', 'data.count=64', '--backend', 'cpu', '-q'];
      const ref = cli(['train', '-c', config, '--out', join(dir, 'ref'), ...sets], dir);
      expect(ref.code, ref.stderr).toBe(0);

      const runDir = join(dir, 'killed');
      const child = spawn(process.execPath, [BIN, 'train', '-c', config, '--out', runDir, ...sets], {
        cwd: dir,
        stdio: 'ignore',
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
        child.on('exit', (code, signal) => res({ code, signal })),
      );
      let done = false;
      void exited.then(() => (done = true));
      // Epoch 1's checkpoint is the last thing epoch 1 does; epoch 2 (8 steps) starts right after.
      const epoch1 = join(runDir, 'checkpoints', 'checkpoint-00000008.safetensors');
      const t0 = Date.now();
      while (!existsSync(epoch1) && !done && Date.now() - t0 < 60_000) await sleep(20);
      expect(existsSync(epoch1), 'epoch 1 checkpoint never appeared').toBe(true);
      await sleep(400);
      expect(done, 'the child finished before it could be killed mid-epoch 2').toBe(false);
      child.kill('SIGKILL');
      expect(await exited).toEqual({ code: null, signal: 'SIGKILL' });
      // Killed mid-epoch 2: one epoch on disk, no epoch-2 checkpoint, no final.json.
      expect(listCheckpoints(runDir)).toEqual(['checkpoint-00000008.safetensors']);
      expect(readJsonLines(join(runDir, 'metrics.jsonl'))).toHaveLength(1);
      expect(existsSync(join(runDir, 'final.json'))).toBe(false);

      const resumed = cli(['train', '-c', config, '--out', runDir, '--resume', ...sets], dir);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain('at step 8');
      const want = readJsonLines(join(dir, 'ref', 'metrics.jsonl'));
      const got = readJsonLines(join(runDir, 'metrics.jsonl'));
      expect(got.map((m) => m.loss)).toEqual(want.map((m) => m.loss));
      expect(deterministic(got)).toEqual(deterministic(want));
      expect(resumed.stdout).toBe(ref.stdout);
    },
  );
});
