import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

describe('README example', () => {
  it('is examples/in-code.ts verbatim', () => {
    expect(read('../README.md')).toContain(read('../examples/in-code.ts'));
  });

  it('runs: one LEWEL_B step and [B, K, H, W] alignment maps', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await import('../examples/in-code');
    const line = String(log.mock.calls.at(-1)?.[0]);
    log.mockRestore();
    expect(line).toMatch(/^loss \d+\.\d{4}, maps \[8,128,4,4\]$/);
  });
});
