/**
 * How long a training step may take before a worker (or the main thread) counts as stuck.
 * Until a step has completed nothing is known about the model's speed, so the first step (which
 * also pays for kernel compilation and allocation) gets a generous fixed limit; later steps get a
 * multiple of the first one's time, so a hang on a small model is reported in about a minute, not
 * ten. SELFSUP_STEP_TIMEOUT_S overrides both.
 */
export const FIRST_STEP_TIMEOUT_MS = 10 * 60_000;
export const MIN_STEP_TIMEOUT_MS = 60_000;
export const STEP_TIMEOUT_FACTOR = 30;
export const STEP_TIMEOUT_ENV = 'SELFSUP_STEP_TIMEOUT_S';

export class StepTimeout {
  private firstStepMs: number | undefined;

  /** `fixedMs` (an option, else the env var) wins over the derived limit. */
  constructor(private readonly fixedMs?: number) {
    if (fixedMs === undefined) {
      const env = process.env[STEP_TIMEOUT_ENV];
      if (env !== undefined && env !== '') {
        const s = Number(env);
        if (!(s > 0)) throw new Error(`${STEP_TIMEOUT_ENV}=${env}: expected a positive number of seconds`);
        this.fixedMs = s * 1000;
      }
    } else if (!(fixedMs > 0)) {
      throw new Error(`step timeout must be a positive number of ms, got ${fixedMs}`);
    }
  }

  /** Limit for the next step. */
  get ms(): number {
    if (this.fixedMs !== undefined) return this.fixedMs;
    if (this.firstStepMs === undefined) return FIRST_STEP_TIMEOUT_MS;
    return Math.max(MIN_STEP_TIMEOUT_MS, STEP_TIMEOUT_FACTOR * this.firstStepMs);
  }

  /** Records a completed step's duration (only the first one counts). */
  observe(ms: number): void {
    if (this.firstStepMs === undefined) this.firstStepMs = ms;
  }
}
