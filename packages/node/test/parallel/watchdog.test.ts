import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { StepTimeout, FIRST_STEP_TIMEOUT_MS, MIN_STEP_TIMEOUT_MS } from '../../src/parallel/timeouts';

const child = fileURLToPath(new URL('./watchdog-child.ts', import.meta.url));

describe('watchdog of a blocked main thread', () => {
  it('kills the process with a message naming the step, and leaves idle time between steps alone', () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, '800'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(r.stdout).toBe('blocking\n');
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toMatch(/selfsup watchdog: test run step 2 did not finish within 0\.8 s/);
    expect(seconds).toBeLessThan(15);
  });
});

describe('step timeout', () => {
  it('is generous before the first step, then a multiple of it (at least a minute)', () => {
    const t = new StepTimeout();
    expect(t.ms).toBe(FIRST_STEP_TIMEOUT_MS);
    t.observe(100);
    expect(t.ms).toBe(MIN_STEP_TIMEOUT_MS);
    const slow = new StepTimeout();
    slow.observe(10_000);
    slow.observe(1); // only the first step counts
    expect(slow.ms).toBe(300_000);
    expect(new StepTimeout(1234).ms).toBe(1234);
    expect(() => new StepTimeout(-1)).toThrow(/positive/);
  });
});
