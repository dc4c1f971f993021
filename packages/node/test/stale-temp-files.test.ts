import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTempFiles } from '../src/io/stale-temp-files';
import { tempFileWriter } from '../src/io/atomic-write';

const dir = mkdtempSync(join(tmpdir(), 'selfsup-stale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stale temp files of interrupted atomic writes', () => {
  it("removes a dead writer's and those older than the lock; keeps a live writer's newer one and other files", async () => {
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const lockedAt = Date.now() - 60_000;
    const names = {
      dead: `.tmp-checkpoint-00000008.safetensors.${dead}.0a1b2c3d`,
      old: `.tmp-loss.png.${process.pid}.0a1b2c3e`,
      live: `.tmp-loss.png.${process.pid}.0a1b2c3f`,
      other: 'checkpoint-00000004.safetensors',
      hidden: '.keep',
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), 'x');
    const past = new Date(lockedAt - 1000);
    utimesSync(join(dir, names.old), past, past);
    expect(tempFileWriter(names.dead)).toBe(dead);
    expect(tempFileWriter(names.other)).toBeUndefined();
    const removed = await removeStaleTempFiles([dir, join(dir, 'missing')], lockedAt);
    expect(removed.sort()).toEqual([join(dir, names.old), join(dir, names.dead)].sort());
    expect(readdirSync(dir).sort()).toEqual([names.hidden, names.live, names.other].sort());
  });
});
