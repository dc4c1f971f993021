import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../src';

describe('readSafetensors / writeSafetensors', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('round-trips through a file, leaving no temp file, and names the path in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'selfsup-st-'));
    dirs.push(dir);
    const path = join(dir, 'w.safetensors');
    await writeSafetensors(path, { w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { k: 'v' });
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    const t = await readSafetensors(path);
    expect(t.get('w')).toEqual({ dtype: 'F32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    // Overwrite replaces the whole file.
    await writeSafetensors(path, { v: { shape: [1], data: new Float32Array([9]) } });
    expect([...(await readSafetensors(path)).keys()]).toEqual(['v']);

    const bad = join(dir, 'bad.safetensors');
    await writeFile(bad, (await readFile(path)).subarray(0, 5));
    await expect(readSafetensors(bad)).rejects.toThrow(`invalid safetensors file ${bad}: file is 5 bytes`);
  });
});
