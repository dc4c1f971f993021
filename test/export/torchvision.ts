/** Runs test/export/torchvision_side.py with a Python that has torch and torchvision, or says why it cannot. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./torchvision_side.py', import.meta.url));

/** SELFSUP_PYTHON, else Debian's /usr/bin/python3 (where apt's python3-torchvision goes), else python3. */
export const PYTHON =
  process.env.SELFSUP_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

function probe(): { ok: true; versions: string } | { ok: false; why: string } {
  try {
    const versions = execFileSync(
      PYTHON,
      [
        '-c',
        'import numpy, torch, torchvision; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")',
      ],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
    ).trim();
    return { ok: true, versions };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    const last = (err.stderr ?? err.message).trim().split('\n').pop();
    return { ok: false, why: `${PYTHON} with torch, torchvision and numpy: ${last}` };
  }
}

export const TORCHVISION = probe();

/** One visible line when the real-torchvision tests cannot run here. */
export function announceTorchvision(what: string): boolean {
  if (!TORCHVISION.ok)
    console.warn(
      `SKIP ${what}: no ${TORCHVISION.why} (install: apt-get install python3-torchvision, or set SELFSUP_PYTHON)`,
    );
  return TORCHVISION.ok;
}

export interface TorchvisionReport {
  keys: number;
  missing?: string[];
  unexpected?: string[];
  num_batches_tracked?: number[];
  num_batches_tracked_dtypes?: string[];
  count_buffers?: number;
}

/** Async, so vitest's worker keeps answering while Python runs (a blocked worker times out its RPC). */
export async function torchvisionSide(
  mode: 'load' | 'make',
  files: { state: string; input: string; out: string },
  opts: { arch: string; stem: 'imagenet' | 'cifar'; seed?: number; builder?: string },
): Promise<TorchvisionReport> {
  const args = [SCRIPT, mode, files.state, files.input, files.out, '--arch', opts.arch, '--stem', opts.stem];
  if (opts.seed !== undefined) args.push('--seed', String(opts.seed));
  // A file of Python lines that build the model as `m` (selfsup's torchvisionBuilder output).
  if (opts.builder !== undefined) args.push('--builder', opts.builder);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PYTHON, args, { encoding: 'utf8', timeout: 300_000 }));
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`torchvision_side.py ${mode} failed:\n${err.stderr ?? err.message}`);
  }
  return JSON.parse(stdout.trim().split('\n').pop()!) as TorchvisionReport;
}
