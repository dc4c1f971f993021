/**
 * Lose nothing, ever: the run folder is locked while a process trains in it, a refused command
 * leaves it byte-for-byte as it was, a checkpoint holding NaN or Inf is never used, SIGINT and
 * SIGTERM stop after a checkpoint, and image folders are read as users really have them. One
 * test (at least) per case of issue 14; the child-process ones need the built CLI.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  CHECKPOINT_FORMAT,
  Checkpointer,
  decodeCheckpoint,
  serializeSafetensors,
  Sha256,
  type TensorData,
} from '@selfsup/core';
import { FileCheckpointStorage, ImageFolderDataset } from '@selfsup/node';
import { RunLock, RUN_LOCK_FILE } from '../../packages/node/src/io/run-lock';
import { ensureDir, errorLines, readJsonLines, runCli, tmpDir, writePng, writeTinyConfig } from './helpers';
import { BUILT, UNPRIVILEGED, runBuiltCli, startCli, waitFor, withReadOnlyMount } from './child';

if (!BUILT) console.warn('reliability.test.ts: skipping the child-process tests: run `npm run build` first');

let dir: string;
/** A finished 2-epoch LEWEL_B run (checkpoints at steps 4 and 8); tests work on copies. */
let base: string;
let lewelConfig: string;

const train = (config: string, out: string, ...more: string[]) => [
  'train',
  '-c',
  config,
  '--out',
  out,
  '--backend',
  'cpu',
  '-q',
  ...more,
];

const ckName = (step: number) => `checkpoint-${String(step).padStart(8, '0')}.safetensors`;

/** Every file and folder under `root` with a SHA-256 of each file's bytes. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (lstatSync(p).isDirectory()) {
        out[`${r}/`] = 'dir';
        walk(p, r);
      } else {
        out[r] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    }
  };
  walk(root, '');
  return out;
}

/** Runs the command and checks the refusal contract: status 2, one `selfsup: ` line, no stack. */
async function refused(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  return lines[0];
}

/** A copy of the base run to break. */
function copyOfBase(name: string): string {
  const run = join(dir, name);
  cpSync(base, run, { recursive: true });
  return run;
}

/** The pid of a process that has exited (a dead lock holder, a dead temp-file writer). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

/**
 * A checkpoint as another tool could write it: the documented format (safetensors, step, meta
 * and a SHA-256 over format, step, meta and each tensor's name, dtype, shape and bytes), valid
 * checksum and all, whatever the values.
 */
function foreignCheckpoint(step: number, meta: unknown, tensors: Map<string, TensorData>): Uint8Array {
  const metaJson = JSON.stringify(meta);
  const entries = [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const hash = new Sha256().update(`${JSON.stringify([CHECKPOINT_FORMAT, step, metaJson])}\n`);
  for (const [name, t] of entries) {
    hash
      .update(`${JSON.stringify([name, 'F32', t.shape])}\n`)
      .update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return serializeSafetensors(new Map(entries), {
    'selfsup.format': CHECKPOINT_FORMAT,
    'selfsup.step': String(step),
    'selfsup.meta': metaJson,
    'selfsup.sha256': hash.digest(),
  });
}

beforeAll(async () => {
  dir = tmpDir('reliab');
  lewelConfig = writeTinyConfig(dir, 'lewel_b', 'lewel_b');
  base = join(dir, 'base');
  const r = await runCli(train(lewelConfig, base));
  expect(r.code, r.stderr).toBe(0);
  expect(readdirSync(join(base, 'checkpoints')).sort()).toEqual([ckName(4), ckName(8)]);
  expect(existsSync(join(base, RUN_LOCK_FILE)), 'the lock is released at the end').toBe(false);
});

describe('case 1: the run folder is locked', () => {
  it('a second train on a folder a live process holds refuses naming the holder and changes nothing', async () => {
    const run = copyOfBase('locked');
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const lock = {
        pid: holder.pid,
        host: hostname(),
        startedAt: '2026-01-02T03:04:05.000Z',
        command: 'selfsup train --config a.yaml',
      };
      writeFileSync(join(run, RUN_LOCK_FILE), JSON.stringify(lock));
      const before = snapshot(run);
      const line = await refused(train(lewelConfig, run, '--resume', '--set', 'train.epochs=3'));
      expect(line).toBe(
        `selfsup: --out ${run} is in use: another selfsup train holds ${join(run, RUN_LOCK_FILE)} ` +
          `(pid ${holder.pid} on host ${hostname()}, started 2026-01-02T03:04:05.000Z: selfsup train --config a.yaml); ` +
          'wait for it to end or choose another --out',
      );
      expect(snapshot(run)).toEqual(before);

      // Another host's pid says nothing about this one: never taken over, and the message says what to do.
      writeFileSync(join(run, RUN_LOCK_FILE), JSON.stringify({ ...lock, host: 'elsewhere', pid: deadPid() }));
      const other = await refused(train(lewelConfig, run, '--resume'));
      expect(other).toContain('on host elsewhere');
      expect(other).toMatch(new RegExp(`; if that process is gone, delete ${join(run, RUN_LOCK_FILE)}$`));
    } finally {
      holder.kill();
    }
  });

  it('a lock a dead process left on this host is taken over with a warning, and released at the end', async () => {
    const run = copyOfBase('dead-lock');
    const pid = deadPid();
    writeFileSync(
      join(run, RUN_LOCK_FILE),
      JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-02T03:04:05.000Z' }),
    );
    const r = await runCli(train(lewelConfig, run, '--resume', '--set', 'train.epochs=3'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `warning: taking over ${join(run, RUN_LOCK_FILE)}: its holder (pid ${pid} on host ${hostname()}, ` +
        'started 2026-01-02T03:04:05.000Z) is no longer running\n',
    );
    expect(r.stderr).toContain('at step 8');
    expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(false);
  });

  it('of processes racing for one folder exactly one gets the lock; release removes only its own', async () => {
    const folder = ensureDir(join(dir, 'race'));
    const warn = () => undefined;
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => RunLock.acquire(folder, { warn })),
    );
    const won = results.filter((r): r is PromiseFulfilledResult<RunLock> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results)
      if (r.status === 'rejected')
        expect((r.reason as Error).message).toContain('is in use: another selfsup train holds');
    // No temp file of the attempts is left behind.
    expect(readdirSync(folder)).toEqual([RUN_LOCK_FILE]);
    await won[0].value.release();
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe('case 2: a refused --resume leaves the run folder byte-for-byte as it was', () => {
  it("another method's config is refused naming the settings, by config.yaml and by the checkpoint's own record", async () => {
    const run = copyOfBase('other-method');
    const byol = writeTinyConfig(dir, 'byol', 'byol');
    const before = snapshot(run);
    const line = await refused(train(byol, run, '--resume'));
    expect(line).toMatch(
      new RegExp(
        `^selfsup: cannot resume ${run}: these settings differ from its config\\.yaml: aggregator \\(\\{"type":"lewel".*\\} -> "global"\\); only train\\.epochs`,
      ),
    );
    expect(snapshot(run)).toEqual(before);

    // A config.yaml that no longer says what the checkpoints were trained with (edited, or
    // overwritten by an older version's refused resume): the checkpoint's record names the keys.
    writeFileSync(join(run, 'config.yaml'), readFileSync(byol));
    const edited = snapshot(run);
    const again = await refused(train(byol, run, '--resume'));
    expect(again).toMatch(
      new RegExp(
        `^selfsup: cannot resume ${run} from ${join(run, 'checkpoints', ckName(8))}: it was written with config hash [0-9a-f]{16}, ` +
          'this run has [0-9a-f]{16}; these settings differ: aggregator \\(\\{"type":"lewel".*\\} -> "global"\\); only train\\.epochs',
      ),
    );
    expect(snapshot(run)).toEqual(edited);
  });

  it('a run folder with checkpoints, without --resume, is refused and unchanged', async () => {
    const before = snapshot(base);
    expect(await refused(train(lewelConfig, base))).toBe(
      `selfsup: run directory ${base} already has checkpoints (latest step 8); pass --resume to continue it, or --out to choose a new run directory`,
    );
    expect(snapshot(base)).toEqual(before);
  });
});

describe('case 3: a checkpoint holding NaN (valid checksum) is never used', () => {
  let run: string;
  let nanFile: string;

  beforeAll(() => {
    run = copyOfBase('nan');
    nanFile = join(run, 'checkpoints', ckName(8));
    const good = decodeCheckpoint(readFileSync(nanFile), nanFile);
    const tensors = new Map<string, TensorData>(
      [...good.tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]),
    );
    const sane = foreignCheckpoint(good.step, good.meta, tensors);
    // The forger is right: without the NaN this file verifies.
    expect(decodeCheckpoint(sane, 'sane').step).toBe(8);
    tensors.get('model.online.backbone.conv1.weight')!.data[3] = NaN;
    writeFileSync(nanFile, foreignCheckpoint(good.step, good.meta, tensors));
  });

  const unusable = () =>
    `checkpoint ${nanFile} is unusable: tensor model.online.backbone.conv1.weight holds NaN at element 3`;

  it('eval and maps given the file refuse it naming the file and the tensor', async () => {
    expect(await refused(['eval', 'knn', '--checkpoint', nanFile, '--backend', 'cpu'])).toBe(
      `selfsup: ${unusable()}`,
    );
    expect(await refused(['maps', '--checkpoint', nanFile, '--backend', 'cpu'])).toBe(
      `selfsup: ${unusable()}`,
    );
    expect(existsSync(join(run, 'maps'))).toBe(false);
  });

  it('eval and maps given the run folder refuse its unusable newest checkpoint and name the previous good one', async () => {
    const before = snapshot(run);
    const refusal =
      `selfsup: ${unusable()}; --checkpoint ${run} takes the run's newest checkpoint and refuses an unusable one ` +
      `(only train --resume falls back): to use the previous good checkpoint, pass --checkpoint ${join(run, 'checkpoints', ckName(4))}`;
    expect(await refused(['eval', 'knn', '--checkpoint', run, '--backend', 'cpu', '--json'])).toBe(refusal);
    expect(await refused(['maps', '--checkpoint', run, '--backend', 'cpu'])).toBe(refusal);
    expect(snapshot(run)).toEqual(before);
    // The file the message names is the one to use.
    const r = await runCli([
      'eval',
      'knn',
      '--checkpoint',
      join(run, 'checkpoints', ckName(4)),
      '--backend',
      'cpu',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).checkpoint).toBe(join(run, 'checkpoints', ckName(4)));
  });

  it('--resume falls back to the previous good checkpoint and trains on', async () => {
    const r = await runCli(train(lewelConfig, run, '--resume'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`skipping unusable checkpoint ${nanFile} (${unusable()})`);
    expect(r.stderr).toContain(`resumed from ${join(run, 'checkpoints', ckName(4))} at step 4`);
    // Epoch 2 retrained from step 4: the same as the uninterrupted run, NaN file replaced.
    const losses = (p: string) => readJsonLines(join(p, 'metrics.jsonl')).map((m) => m.loss);
    expect(losses(run)).toEqual(losses(base));
    const latest = await new Checkpointer(new FileCheckpointStorage(join(run, 'checkpoints'))).loadLatest();
    expect(latest?.path).toBe(nanFile);
  });
});

describe('cases 4-6: image folders as users have them', () => {
  let root: string;
  let config: string;
  const LATIN1 = Buffer.from('caf\xe9.png', 'latin1');

  beforeAll(async () => {
    // Class a: real folder with 6 images, one named in Latin-1 bytes, and links back up (loops).
    // Class b: a symbolic link to a folder elsewhere (6 images).
    root = ensureDir(join(dir, 'folder'));
    const a = ensureDir(join(root, 'a'));
    const realB = ensureDir(join(dir, 'elsewhere', 'b'));
    for (let i = 0; i < 6; i++) {
      await writePng(join(a, `${i}.png`), 16, 16, [200, 30 + 20 * i, 30]);
      await writePng(join(realB, `${i}.png`), 16, 16, [30, 30 + 20 * i, 200]);
    }
    writeFileSync(Buffer.concat([Buffer.from(`${a}/`), LATIN1]), readFileSync(join(a, '0.png')));
    symlinkSync(realB, join(root, 'b'));
    symlinkSync('..', join(a, 'up'));
    symlinkSync('.', join(a, 'self'));
    config = writeTinyConfig(
      dir,
      'folder',
      'byol',
      `data: {dataset: image_folder, path: ${root}, imageSize: 16}\n`,
    );
    writeFileSync(
      config,
      readFileSync(config, 'utf8')
        .replace(/^data: \{dataset: cluttered.*\n/m, '')
        .replace('epochs: 2, batchSize: 8', 'epochs: 1, batchSize: 4'),
    );
  });

  it('a symlinked class folder is read; links that loop are not entered twice; a Latin-1 name is kept', async () => {
    const ds = await ImageFolderDataset.load({ path: root, resize: 16 });
    expect(ds.classNames).toEqual(['a', 'b']);
    // 7 in a (the Latin-1 one included, nothing through the loops), 6 through the link b.
    expect(ds.length).toBe(13);
    const paths = Array.from({ length: ds.length }, (_, i) => ds.pathOf(i));
    expect(paths).toContain(`${root}/a/caf\\xe9.png`);
    expect(paths.filter((p) => p.includes('/up/') || p.includes('/self/'))).toEqual([]);
    const latin = paths.indexOf(`${root}/a/caf\\xe9.png`);
    const [img, first] = await Promise.all([ds.get(latin), ds.get(0)]);
    expect(img.image.data).toEqual(first.image.data); // the same PNG bytes
    expect(ds.badImages).toEqual([]);
  });

  it('training reads them all, and a resume after images were added is refused leaving the folder as it was', async () => {
    const run = join(dir, 'folder-run');
    const r = await runCli(train(config, run));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('train image_folder (11 images, 16px)'); // 13, every 5th held out
    const before = snapshot(run);
    for (let i = 6; i < 11; i++) await writePng(join(root, 'a', `${i}.png`), 16, 16, [200, 30, 30 + 10 * i]);
    const line = await refused(train(config, run, '--resume', '--set', 'train.epochs=3'));
    expect(line).toBe(
      `selfsup: cannot resume from ${join(run, 'checkpoints', ckName(2))}: it was written with dataset length 11, this run has 15`,
    );
    expect(snapshot(run)).toEqual(before); // config.yaml still says epochs 1
  });

  it('an unreadable Latin-1 named file and a broken link are named as such, path intact', async () => {
    const bad = ensureDir(join(dir, 'bad-names'));
    await writePng(join(bad, 'good.png'), 16, 16, [1, 2, 3]);
    writeFileSync(Buffer.concat([Buffer.from(`${bad}/`), Buffer.from('bad\xe9.png', 'latin1')]), 'not a png');
    await expect(ImageFolderDataset.load({ path: bad, resize: 16 })).rejects.toThrow(
      `image_folder: cannot read image '${bad}/bad\\xe9.png': Input buffer contains unsupported image format`,
    );
    const broken = ensureDir(join(dir, 'broken-link'));
    await writePng(join(broken, 'good.png'), 16, 16, [1, 2, 3]);
    symlinkSync('missing.png', join(broken, 'lonely.png'));
    await expect(ImageFolderDataset.load({ path: broken, resize: 16 })).rejects.toThrow(
      `image_folder: cannot read image '${broken}/lonely.png': broken symbolic link to 'missing.png' (ENOENT)`,
    );
    const skipped = await ImageFolderDataset.load({ path: broken, resize: 16, onBadImage: 'skip' });
    expect(skipped.badImageReasons).toEqual(
      new Map([[`${broken}/lonely.png`, "broken symbolic link to 'missing.png' (ENOENT)"]]),
    );
  });

  it.skipIf(!BUILT || UNPRIVILEGED === undefined)(
    'a file without read permission is reported as permission denied, not as a bad format (child process)',
    async () => {
      const folder = ensureDir(join(dir, 'perm', 'images'));
      for (let i = 0; i < 4; i++) await writePng(join(folder, `${i}.png`), 16, 16, [10 * i, 20, 30]);
      const locked = join(folder, '2.png');
      chmodSync(locked, 0o000);
      const sets = [
        '--set',
        'data.dataset=image_folder',
        '--set',
        `data.path=${folder}`,
        '--set',
        'train.batchSize=2',
      ];
      const cfg = writeTinyConfig(dir, 'perm', 'byol');
      const out = join(dir, 'perm', 'run');
      const r = await runBuiltCli(train(cfg, out, ...sets), dir, UNPRIVILEGED);
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        `selfsup: image_folder: cannot read image '${locked}': permission denied (EACCES)`,
      ]);
      expect(existsSync(out)).toBe(false);
      const skip = await runBuiltCli(
        train(cfg, out, ...sets, '--set', 'data.onBadImage=skip', '--set', 'train.epochs=1'),
        dir,
        UNPRIVILEGED,
      );
      expect(skip.code, skip.stderr).toBe(0);
      expect(skip.stderr).toContain(
        // "of 3": the count of images kept, as for other unreadable images.
        `data: skipped 1 unreadable image(s) of 3 (onBadImage: skip): ${locked} (permission denied (EACCES))\n`,
      );
    },
  );
});

describe('case 7: --out and sizing errors are found before any data is built, naming the key', () => {
  const noData = ['--set', 'data.dataset=image_folder', '--set', 'data.path=/nonexistent-images'];

  it('batchSize above data.count names train.batchSize and data.count and leaves no folder', async () => {
    const out = join(dir, 'too-big');
    expect(
      await refused(train(lewelConfig, out, '--set', 'train.batchSize=128', '--set', 'data.count=64')),
    ).toBe(
      'selfsup: train.batchSize 128 exceeds data.count 64: every epoch needs one full batch (the last incomplete batch is dropped); lower train.batchSize or raise data.count',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('batchSize above the images a folder has names train.batchSize once the folder is read', async () => {
    const folder = ensureDir(join(dir, 'few'));
    for (let i = 0; i < 6; i++) await writePng(join(folder, `${i}.png`), 16, 16, [i, 2, 3]);
    const out = join(dir, 'few-run', 'nested');
    const line = await refused(
      train(lewelConfig, out, '--set', 'data.dataset=image_folder', '--set', `data.path=${folder}`),
    );
    expect(line).toBe(
      `selfsup: train.batchSize 8 exceeds the 6 training images of dataset 'image_folder' at ${folder}: ` +
        'every epoch needs one full batch (the last incomplete batch is dropped); lower train.batchSize, or add images',
    );
    expect(existsSync(join(dir, 'few-run')), 'the folders this run created are removed').toBe(false);
  });

  it('--out below a file says so before the data (a missing image folder) is looked at', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(await refused(train(lewelConfig, join(file, 'run'), ...noData))).toBe(
      `selfsup: --out ${join(file, 'run')}: ${file} is a file, not a directory`,
    );
  });

  const ro = BUILT ? withReadOnlyMount(join(dir ?? '', 'ro')) : undefined;
  it.skipIf(!BUILT || ro === undefined)(
    '--out on a read-only file system says so, naming --out, before the data (child process)',
    async () => {
      const mount = ensureDir(join(dir, 'ro'));
      const prefix = withReadOnlyMount(mount)!;
      const r = await runBuiltCli(train(lewelConfig, join(mount, 'run'), ...noData), dir, prefix);
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        `selfsup: --out ${join(mount, 'run')}: cannot create it in ${mount}: read-only file system (EROFS); choose another --out`,
      ]);
    },
  );

  it.skipIf(!BUILT || UNPRIVILEGED === undefined)(
    '--out in a folder without write permission says so (child process)',
    async () => {
      const parent = ensureDir(join(dir, 'no-write'));
      chmodSync(parent, 0o555);
      const r = await runBuiltCli(train(lewelConfig, join(parent, 'run'), ...noData), dir, UNPRIVILEGED);
      expect(r.code, r.stderr).toBe(2);
      expect(errorLines(r.stderr)).toEqual([
        `selfsup: --out ${join(parent, 'run')}: cannot create it in ${parent}: permission denied (EACCES); choose another --out`,
      ]);
    },
  );
});

describe('case 8: SIGINT / SIGTERM stop after a checkpoint (in-process: the handlers the CLI installs)', () => {
  it('a SIGINT mid-epoch finishes the step, writes its checkpoint, says how to resume, exits 130; the resume equals an uninterrupted run', async () => {
    const run = join(dir, 'int-in-process');
    const listeners = process.listenerCount('SIGINT');
    const pending = runCli(train(lewelConfig, run));
    await waitFor('the epoch-1 checkpoint', () => existsSync(join(run, 'checkpoints', ckName(4))));
    process.emit('SIGINT');
    const r = await pending;
    expect(r.code, r.stderr).toBe(130);
    const m = /selfsup: stopped by SIGINT after step (\d+) of 8; checkpoint: (.+)\nresume with: (.+)\n$/.exec(
      r.stderr,
    );
    expect(m, r.stderr).not.toBeNull();
    const step = Number(m![1]);
    expect(step).toBeGreaterThanOrEqual(4);
    expect(step).toBeLessThan(8);
    expect(m![2]).toBe(join(run, 'checkpoints', ckName(step)));
    expect(m![3]).toBe(
      `selfsup train --config ${join(run, 'config.yaml')} --out ${run} --resume --backend cpu`,
    );
    expect(r.stderr).toContain('selfsup: SIGINT: stopping once the current step is done (');
    expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(false);
    expect(existsSync(join(run, 'final.json'))).toBe(false);
    expect(process.listenerCount('SIGINT'), 'the handlers are removed when the command ends').toBe(listeners);

    const resumed = await runCli([...m![3].split(' ').slice(1), '-q']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resumed from ${m![2]} at step ${step}`);
    const losses = (p: string) => readJsonLines(join(p, 'metrics.jsonl')).map((x) => x.loss);
    expect(losses(run)).toEqual(losses(base));
  });

  it('a second SIGINT stops at once: the lock is released before the process exits with 130', async () => {
    const run = join(dir, 'int-twice');
    const lock = join(run, RUN_LOCK_FILE);
    const exits: Array<{ code: unknown; lockThere: boolean }> = [];
    // process.exit would end the test worker: record it instead (the command then stops as after one SIGINT).
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exits.push({ code, lockThere: existsSync(lock) });
    }) as never);
    try {
      const pending = runCli(train(lewelConfig, run));
      await waitFor('training to start', () => existsSync(join(run, 'config.yaml')));
      process.emit('SIGINT');
      process.emit('SIGINT');
      const r = await pending;
      expect(exits).toEqual([{ code: 130, lockThere: false }]);
      expect(r.stderr).toMatch(
        /selfsup: SIGINT again: stopped at once; the step in flight is lost; last checkpoint: .+\n/,
      );
    } finally {
      exit.mockRestore();
    }
  });

  it('a SIGINT before training started stops at once and removes the folder it created', async () => {
    // The signal comes the moment the lock is taken (deterministic: from inside the command);
    // a batch larger than the folder then refuses the run, should the signal not have ended it.
    const images = ensureDir(join(dir, 'few'));
    for (let i = 0; i < 4; i++) await writePng(join(images, `${i}.png`), 16, 16, [1, 2, 3]);
    const run = join(dir, 'int-early', 'run');
    const exits: unknown[] = [];
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
      exits.push({ code, folder: existsSync(join(dir, 'int-early')) });
      throw new Error('exited');
    }) as never);
    const take = RunLock.prototype.take;
    const signalled: unknown[] = [];
    const spy = vi.spyOn(RunLock.prototype, 'take').mockImplementation(async function (
      this: RunLock,
      ...args: Parameters<RunLock['take']>
    ) {
      await take.apply(this, args);
      expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(true);
      // The real process.exit would end here; the mock throws, and the command goes on to its refusal.
      try {
        process.emit('SIGINT');
      } catch (e) {
        signalled.push((e as Error).message);
      }
    });
    try {
      const sets = [
        '--set',
        'data.dataset=image_folder',
        '--set',
        `data.path=${images}`,
        '--set',
        'train.batchSize=1024',
      ];
      const r = await runCli(train(lewelConfig, run, ...sets));
      expect(signalled).toEqual(['exited']);
      expect(exits).toEqual([{ code: 130, folder: false }]);
      expect(r.stderr).toContain(
        `selfsup: SIGINT before training started: stopped; nothing was written into ${run}\n`,
      );
    } finally {
      spy.mockRestore();
      exit.mockRestore();
    }
  });

  it('a SIGINT while a refused run releases its lock still removes the lock', async () => {
    const run = join(dir, 'int-releasing', 'run');
    ensureDir(run);
    const lock = await RunLock.acquire(run, { warn: () => undefined });
    const releasing = lock.release(); // Under way: its read of the lock file has not come back yet.
    lock.releaseSync();
    expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(false);
    await releasing;
    expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(false);
  });
});

describe('cases 8-11 with real processes: SIGTERM, a second process, stale temp files (built CLI)', () => {
  // 64 images, 3 epochs: 8 steps an epoch, long enough to start a second process and signal in epoch 2.
  const sets = ['--set', 'data.count=64', '--set', 'train.epochs=3'];
  let cfg: string;
  let ref: { stdout: string; losses: unknown[] };

  beforeAll(async () => {
    if (!BUILT) return;
    cfg = writeTinyConfig(dir, 'sig', 'byol');
    const r = await runBuiltCli(train(cfg, join(dir, 'sig-ref'), ...sets), dir);
    expect(r.code, r.stderr).toBe(0);
    ref = {
      stdout: r.stdout,
      losses: readJsonLines(join(dir, 'sig-ref', 'metrics.jsonl')).map((m) => m.loss),
    };
  });

  it.skipIf(!BUILT)(
    'SIGTERM mid-epoch: checkpoint of the last step, where it is and how to resume, exit 143; a second run is refused meanwhile; stale temp files go; the resume equals an uninterrupted run',
    async () => {
      const run = join(dir, 'sig-term');
      const first = startCli(train(cfg, run, ...sets), dir);
      const epoch1 = join(run, 'checkpoints', ckName(8));
      await waitFor('the epoch-1 checkpoint', () => existsSync(epoch1));

      // Case 1 with real processes: the second run names the first one's pid.
      const second = await runBuiltCli(train(cfg, run, ...sets, '--resume'), dir);
      expect(second.code).toBe(2);
      expect(errorLines(second.stderr)).toHaveLength(1);
      expect(second.stderr).toContain(
        `selfsup: --out ${run} is in use: another selfsup train holds ${join(run, RUN_LOCK_FILE)} (pid ${first.child.pid} on host ${hostname()}`,
      );

      first.child.kill('SIGTERM');
      const r = await first.done;
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(143);
      const m =
        /selfsup: stopped by SIGTERM after step (\d+) of 24; checkpoint: (.+)\nresume with: (.+)\n$/.exec(
          r.stderr,
        );
      expect(m, r.stderr).not.toBeNull();
      const step = Number(m![1]);
      expect(step).toBeGreaterThan(8);
      expect(step).toBeLessThan(24);
      expect(m![2]).toBe(join(run, 'checkpoints', ckName(step)));
      expect(m![3]).toBe(
        `selfsup train --config ${join(run, 'config.yaml')} --out ${run} --resume --backend cpu`,
      );
      expect(readdirSync(join(run, 'checkpoints'))).toContain(ckName(step));
      expect(existsSync(join(run, RUN_LOCK_FILE))).toBe(false);
      expect(existsSync(join(run, 'final.json'))).toBe(false);

      // Case 11: temp files of writers killed mid-write: one of a dead process, one older than the lock.
      const dead = join(run, 'checkpoints', `.tmp-${ckName(24)}.${deadPid()}.0badcafe`);
      const old = join(run, 'plots', `.tmp-loss.png.${process.pid}.0badf00d`);
      writeFileSync(dead, 'half a checkpoint');
      writeFileSync(old, 'half a plot');
      utimesSync(old, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));

      // The printed command, as a user would paste it (plus -q for a log without a progress bar).
      const resumed = await runBuiltCli([...m![3].split(' ').slice(1), '-q'], dir);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(`resumed from ${m![2]} at step ${step}`);
      expect(resumed.stderr).toContain(`removed 2 temp file(s) of interrupted writes: `);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(old)).toBe(false);
      expect(readJsonLines(join(run, 'metrics.jsonl')).map((x) => x.loss)).toEqual(ref.losses);
      expect(resumed.stdout).toBe(ref.stdout);
    },
  );
});
