/** Shared helpers for the end-to-end CLI tests: run `selfsup` in-process, tiny configs, PNG folders. */
import { afterAll, expect, vi } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommanderError } from 'commander';
import sharp from 'sharp';
import { buildProgram } from '@selfsup/node';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `selfsup <args>` in this process as a user would (commander parsing, plugin loading by
 * package name, exit status), capturing what it writes to stdout and stderr.
 */
export async function runCli(args: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const capture = (sink: string[]) => (chunk: unknown) => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const so = vi.spyOn(process.stdout, 'write').mockImplementation(capture(out) as never);
  const se = vi.spyOn(process.stderr, 'write').mockImplementation(capture(err) as never);
  const before = process.exitCode;
  process.exitCode = undefined;
  let code: number;
  try {
    await buildProgram()
      .exitOverride()
      .configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) })
      .parseAsync(['node', 'selfsup', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    code = e.exitCode;
  } finally {
    so.mockRestore();
    se.mockRestore();
    // A failing command sets process.exitCode; it must not become the test worker's exit status.
    process.exitCode = before;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Lines of stderr that are errors (the CLI prefixes each with `selfsup: `). */
export const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('selfsup: '));

const created: string[] = [];
// Registered at import, so it runs after each test file that uses tmpDir (SELFSUP_KEEP_TMP=1 keeps them).
afterAll(() => {
  if (process.env.SELFSUP_KEEP_TMP) return;
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export function tmpDir(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `selfsup-cli-${tag}-`));
  created.push(dir);
  return dir;
}

export type MethodName = 'byol' | 'moco' | 'lewel_b' | 'lewel_m';
export const METHODS: MethodName[] = ['byol', 'moco', 'lewel_b', 'lewel_m'];

/** Peak learning rate of the tiny configs: LARS for the BYOL family, SGD for the MoCo family. */
export const TINY_LR: Record<MethodName, number> = { byol: 0.5, lewel_b: 0.5, moco: 0.06, lewel_m: 0.06 };

/**
 * A config small enough for the cpu backend (16px, ResNet [1,1] x [4,8], 16-d heads): 32 training
 * images of 4 classes in batches of 8 (4 steps an epoch), 16 held-out images.
 */
export function tinyConfig(method: MethodName, extra = ''): string {
  const byolFamily = method === 'byol' || method === 'lewel_b';
  const lines = [
    byolFamily
      ? 'method: {type: byol, hiddenDim: 16, outDim: 16, baseMomentum: 0.99}'
      : 'method: {type: moco, hiddenDim: 16, outDim: 16, queueSize: 32, temperature: 0.2, baseMomentum: 0.99}',
    method.startsWith('lewel')
      ? 'aggregator: {type: lewel, heads: 4, scale: 1, l2norm: true, lossWeight: 0.5}'
      : 'aggregator: global',
    'backbone: {type: resnet, blocks: [1, 1], widths: [4, 8], stem: cifar}',
    byolFamily
      ? `optimizer: {type: lars, lr: ${TINY_LR[method]}, momentum: 0.9, weightDecay: 1.0e-5, eta: 0.02}`
      : `optimizer: {type: sgd, lr: ${TINY_LR[method]}, momentum: 0.9, weightDecay: 5.0e-4}`,
    'train: {epochs: 2, batchSize: 8, seed: 0, warmupEpochs: 1, keepCheckpoints: 3}',
    'data: {dataset: cluttered, imageSize: 16, count: 32, testCount: 16, numClasses: 4}',
    'eval: {knnK: 5, linearEpochs: 2}',
  ];
  return `${lines.join('\n')}\n${extra}`;
}

/** Writes tinyConfig(method) to <dir>/<name>.yaml and returns its path. */
export function writeTinyConfig(dir: string, name: string, method: MethodName, extra = ''): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, tinyConfig(method, extra));
  return path;
}

/**
 * Trains a tiny config of `method` for one epoch (4 steps) on cpu into `dir/run`, failing the
 * test on any error line; returns the run folder and its last checkpoint file.
 */
export async function trainTinyRun(
  dir: string,
  method: MethodName,
): Promise<{ runDir: string; checkpointFile: string }> {
  const runDir = join(dir, 'run');
  const config = writeTinyConfig(dir, method, method);
  const r = await runCli([
    'train',
    '-c',
    config,
    '--out',
    runDir,
    '--backend',
    'cpu',
    '-q',
    '--set',
    'train.epochs=1',
  ]);
  expect(errorLines(r.stderr), r.stderr).toEqual([]);
  return { runDir, checkpointFile: join(runDir, 'checkpoints', 'checkpoint-00000004.safetensors') };
}

/** A PNG of solid colour with a lighter square, so images of a class look alike. */
export async function writePng(path: string, width: number, height: number, rgb: [number, number, number]) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const inner = x > width / 4 && x < (3 * width) / 4 && y > height / 4 && y < (3 * height) / 4;
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = inner ? 255 - rgb[c] : rgb[c];
    }
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path);
}

export function readJsonLines(path: string): Array<Record<string, unknown>> {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

export const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const isPng = (path: string) =>
  existsSync(path) && readFileSync(path).subarray(0, 8).equals(PNG_MAGIC);

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
