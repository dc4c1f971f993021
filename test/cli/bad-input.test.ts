/**
 * Bad input through the CLI: each problem gives one `selfsup: ` message naming the file, key,
 * value or tensor at fault, a non-zero exit status, and nothing already on disk is lost.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpointer, createRegistryContainer, resolveType, type DatasetRegistration } from '@selfsup/core';
import { FileCheckpointStorage, fileDatasetsPlugin } from '@selfsup/node';
import { ensureDir, errorLines, readJsonLines, runCli, tmpDir, writePng, writeTinyConfig } from './helpers';

/** Set to a checkpoint file name to make its write run out of disk space half-way. */
const diskFull = vi.hoisted(() => ({ file: undefined as string | undefined }));

// Simulates a full disk through the atomic write's injectable file operations: the write puts
// half the bytes in the temp file, then fails with ENOSPC, as write(2) does on a full disk.
vi.mock('../../packages/node/src/io/atomic-write', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../packages/node/src/io/atomic-write')>();
  return {
    ...real,
    atomicWriteFile: (path: string, data: Uint8Array, ops: Partial<typeof real.defaultAtomicWriteOps> = {}) =>
      real.atomicWriteFile(
        path,
        data,
        diskFull.file !== undefined && path.endsWith(diskFull.file)
          ? {
              ...ops,
              write: async (handle, bytes) => {
                await handle.write(bytes, 0, bytes.length >> 1);
                throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
              },
            }
          : ops,
      ),
  };
});

let dir: string;
beforeAll(() => {
  dir = tmpDir('bad');
});

/** Runs the command and checks the common contract: exit status 2, exactly one error line. */
async function fails(args: string[]): Promise<{ message: string; stderr: string }> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(2);
  const lines = errorLines(r.stderr);
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
  // The error is the last thing written (a multi-line message continues after its first line).
  return { message: r.stderr.slice(r.stderr.indexOf('selfsup: ')), stderr: r.stderr };
}

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

describe('bad data', () => {
  it('a missing or empty image folder is named; nothing is created', async () => {
    const config = writeTinyConfig(dir, 'folder', 'byol', '');
    const sets = ['--set', 'data.dataset=image_folder'];
    const missing = await fails(
      train(config, join(dir, 'r-missing'), ...sets, '--set', 'data.path=/nonexistent'),
    );
    expect(missing.message).toBe("selfsup: image_folder: path '/nonexistent' does not exist\n");
    const empty = ensureDir(join(dir, 'empty'));
    const none = await fails(train(config, join(dir, 'r-empty'), ...sets, '--set', `data.path=${empty}`));
    expect(none.message).toBe(`selfsup: image_folder: no .png/.jpg/.jpeg images found in '${empty}'\n`);
    expect(existsSync(join(dir, 'r-missing'))).toBe(false);
    expect(existsSync(join(dir, 'r-empty'))).toBe(false);
  });

  it('a corrupt image fails naming its path, or with onBadImage skip is counted and training goes on', async () => {
    // Two classes of 6 images in two sizes (resized to data.imageSize), and one broken file.
    const root = join(dir, 'folder');
    for (const [c, rgb] of [
      ['a', [200, 30, 30]],
      ['b', [30, 30, 200]],
    ] as const) {
      ensureDir(join(root, c));
      for (let i = 0; i < 6; i++)
        await writePng(join(root, c, `${i}.png`), i % 2 ? 24 : 16, i % 2 ? 20 : 16, [
          rgb[0],
          rgb[1] + 20 * i,
          rgb[2],
        ]);
    }
    const broken = join(root, 'a', '9-broken.png');
    writeFileSync(broken, Buffer.from('\x89PNG\r\n\x1a\n this is not a PNG body'));
    const config = writeTinyConfig(
      dir,
      'skip',
      'byol',
      'data: {dataset: image_folder, path: ' + root + ', imageSize: 16, onBadImage: fail}\n',
    );
    // The trailing `data:` replaces the tiny config's (YAML: the last duplicate key would be an error).
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^data: \{dataset: cluttered.*\n/m, ''));

    const fail = await fails(train(config, join(dir, 'r-fail')));
    expect(fail.message).toMatch(new RegExp(`^selfsup: image_folder: cannot read image '${broken}': .+\\n$`));
    expect(existsSync(join(dir, 'r-fail'))).toBe(false);

    const out = join(dir, 'r-skip');
    const ok = await runCli(train(config, out, '--set', 'data.onBadImage=skip', '--set', 'train.epochs=1'));
    expect(ok.code, ok.stderr).toBe(0);
    // The path, then why: sharp's message, as the file itself is readable.
    expect(ok.stderr).toMatch(
      new RegExp(
        `(^|\\n)data: skipped 1 unreadable image\\(s\\) of 12 \\(onBadImage: skip\\): ${broken} \\(Input file contains unsupported image format\\)\\n`,
      ),
    );
    expect(ok.stderr).toContain('train image_folder (10 images, 16px)'); // 2 of 12 held out
    const final = JSON.parse(readFileSync(join(out, 'final.json'), 'utf8'));
    expect(final.skippedImages).toEqual([broken]);
    // The held-out images (every 5th) come from both classes, so kNN is a multiple of 50%.
    expect([0, 50, 100]).toContain(final.knn);
  });

  it('mixed image sizes without a resize name two files of different sizes (dataset API)', async () => {
    // The CLI always resizes to data.imageSize (see the test above); code using the dataset
    // registration directly can leave resize out.
    const root = ensureDir(join(dir, 'mixed'));
    await writePng(join(root, 'a.png'), 16, 16, [10, 20, 30]);
    await writePng(join(root, 'b.png'), 24, 20, [10, 20, 30]);
    const reg = resolveType<DatasetRegistration>(
      createRegistryContainer([fileDatasetsPlugin]),
      'Dataset',
      'image_folder',
      'data.dataset',
    );
    await expect(reg.create({ path: root })).rejects.toThrow(
      `image_folder: images in '${root}' differ in size: '${join(root, 'a.png')}' is 16x16 and '${join(root, 'b.png')}' is 24x20 (WxH); set the 'resize' option`,
    );
  });
});

describe('bad config', () => {
  it('an unknown key names its path and the nearest accepted key', async () => {
    const config = join(dir, 'unknown.yaml');
    writeFileSync(
      config,
      readFileSync(writeTinyConfig(dir, 'base', 'byol'), 'utf8').replace('epochs: 2', 'epoch: 2'),
    );
    const { message } = await fails(train(config, join(dir, 'r-unknown')));
    expect(message.split('\n')[0]).toBe(`selfsup: ${config}: invalid config`);
    expect(message).toContain("  train: unknown key(s) 'epoch'; expected one of epochs, ");
    expect(message).toContain("(did you mean 'epochs' for 'epoch'?)");
    expect(existsSync(join(dir, 'r-unknown'))).toBe(false);
  });

  it('a wrong type names the path, the value and what was expected', async () => {
    const config = join(dir, 'type.yaml');
    writeFileSync(
      config,
      readFileSync(writeTinyConfig(dir, 'base', 'byol'), 'utf8').replace('imageSize: 16', 'imageSize: big'),
    );
    const { message } = await fails(train(config, join(dir, 'r-type')));
    expect(message).toBe(
      `selfsup: ${config}: invalid config\n  data.imageSize: got "big"; Expected number, received string\n`,
    );
  });

  it('--set with a bad key path, a missing =, or an unknown key is named', async () => {
    const config = writeTinyConfig(dir, 'base', 'byol');
    const out = join(dir, 'r-set');
    expect((await fails(train(config, out, '--set', 'train.epochs.max=3'))).message).toBe(
      "selfsup: --set train.epochs.max=3: 'train.epochs' is 2, not a mapping\n",
    );
    expect((await fails(train(config, out, '--set', 'train.epochs'))).message).toBe(
      'selfsup: --set train.epochs: expected key.path=value\n',
    );
    expect((await fails(train(config, out, '--set', 'train..epochs=3'))).message).toBe(
      'selfsup: --set train..epochs=3: empty segment in key path\n',
    );
    const unknown = await fails(train(config, out, '--set', 'optimizer.learningRate=0.1'));
    expect(unknown.message.split('\n')[0]).toBe(
      `selfsup: ${config} (with --set overrides) (optimizer 'lars'): invalid config`,
    );
    expect(unknown.message.split('\n')[1]).toMatch(
      /^ {2}optimizer: unknown key\(s\) 'learningRate'; expected one of /,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('bad checkpoints and failing runs', () => {
  let run: string;
  let config: string;

  it('a full disk while checkpointing stops the run naming the file; the previous checkpoint stays good', async () => {
    config = writeTinyConfig(dir, 'disk', 'byol');
    run = join(dir, 'r-disk');
    diskFull.file = 'checkpoint-00000008.safetensors';
    let failed;
    try {
      failed = await fails(train(config, run));
    } finally {
      diskFull.file = undefined;
    }
    const ck = join(run, 'checkpoints');
    expect(failed.message).toBe(
      `selfsup: checkpointing step 8 to ${join(ck, 'checkpoint-00000008.safetensors')} failed: ENOSPC: no space left on device, write\n`,
    );
    // No half-written file; the epoch-1 checkpoint verifies (checksum) and is what resume uses.
    expect(readdirSync(ck)).toEqual(['checkpoint-00000004.safetensors']);
    const good = await new Checkpointer(new FileCheckpointStorage(ck)).load(
      'checkpoint-00000004.safetensors',
    );
    expect(good.step).toBe(4);
    expect(existsSync(join(run, 'final.json'))).toBe(false);

    const resumed = await runCli(train(config, run, '--resume'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('at step 4');
    expect(readJsonLines(join(run, 'metrics.jsonl')).map((m) => m.epoch)).toEqual([1, 2]);
    expect(readdirSync(ck)).toEqual(['checkpoint-00000004.safetensors', 'checkpoint-00000008.safetensors']);
  });

  it('a checkpoint of another architecture lists the tensors that do not fit', async () => {
    if (!run) throw new Error('needs the run of the disk-full test above');
    const wider = join(dir, 'wider.yaml');
    writeFileSync(wider, readFileSync(config, 'utf8').replace('widths: [4, 8]', 'widths: [8, 16]'));
    const file = join(run, 'checkpoints', 'checkpoint-00000008.safetensors');
    const a = await fails(['eval', 'knn', '--checkpoint', run, '-c', wider, '--backend', 'cpu']);
    expect(a.message.split('\n')[0]).toBe(
      `selfsup: checkpoint ${file} does not fit the model built from ${wider} (another method, backbone or head size?): Error(s) in loading state_dict:`,
    );
    expect(a.message).toContain(
      '\tsize mismatch for model.online.backbone.conv1.weight: copying a param with shape [4, 3, 3, 3] from checkpoint, the shape in current model is [8, 3, 3, 3].\n',
    );
    const moco = writeTinyConfig(dir, 'moco', 'moco');
    const b = await fails(['eval', 'knn', '--checkpoint', run, '-c', moco, '--backend', 'cpu']);
    // MoCo keeps a queue and a plain MLP neck; BYOL has a predictor and BatchNorm in its neck.
    expect(b.message).toMatch(/\n\tMissing key\(s\) in state_dict: "model\.queue", /);
    expect(b.message).toMatch(/Unexpected key\(s\) in state_dict: .*"model\.predictor\.mlp\.0\.weight"/);
    expect(existsSync(join(run, 'maps'))).toBe(false);
  });

  it('a NaN loss stops naming the step and keeps the last good checkpoint', async () => {
    // SGD at lr 1e5 without warm-up diverges in a few steps; on cpu the step is deterministic.
    const nan = writeTinyConfig(dir, 'nan', 'moco');
    const out = join(dir, 'r-nan');
    const { message } = await fails(
      train(
        nan,
        out,
        '--set',
        'optimizer.lr=1e5',
        '--set',
        'train.warmupEpochs=0',
        '--set',
        'train.epochs=6',
      ),
    );
    const m =
      /^selfsup: training stopped: loss is (NaN|-?Infinity) at step (\d+) \(epoch (\d+), batch (\d)\/4\); the step was not applied and nothing was saved; last good checkpoint: (.+)\n$/.exec(
        message,
      );
    expect(m, message).not.toBeNull();
    const step = Number(m![2]);
    const epochsDone = Math.floor((step - 1) / 4);
    // This config diverges after at least one epoch, so there is a checkpoint to keep.
    expect(epochsDone).toBeGreaterThanOrEqual(1);
    expect(Number(m![3])).toBe(epochsDone + 1);
    expect(Number(m![4])).toBe(step - 4 * epochsDone);
    const last = join(
      out,
      'checkpoints',
      `checkpoint-${String(4 * epochsDone).padStart(8, '0')}.safetensors`,
    );
    expect(m![5]).toBe(last);
    const kept = await new Checkpointer(new FileCheckpointStorage(join(out, 'checkpoints'))).loadLatest();
    expect(kept?.path).toBe(last);
    expect(readJsonLines(join(out, 'metrics.jsonl'))).toHaveLength(epochsDone);
  });
});
