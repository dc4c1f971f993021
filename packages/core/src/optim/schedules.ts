import type { LrSchedule } from '../contracts';

export interface WarmupCosineOptions {
  /** Peak lr, reached at the end of warm-up. */
  baseLr: number;
  /** Linear warm-up length in steps (0: none). */
  warmupSteps: number;
  /** Lr at the end of the run; 0 as METHODS.md. */
  finalLr?: number;
}

function check(owner: string, key: string, value: number, opts: { integer?: boolean } = {}): void {
  if (!Number.isFinite(value) || value < 0 || (opts.integer && !Number.isInteger(value))) {
    const what = opts.integer ? 'an integer >= 0' : 'a finite number >= 0';
    throw new Error(`${owner}: '${key}' must be ${what}, got ${value}`);
  }
}

function checkStep(owner: string, step: number, totalSteps: number): void {
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new Error(`${owner}: totalSteps must be an integer >= 1, got ${totalSteps}`);
  }
  if (!Number.isInteger(step) || step < 0)
    throw new Error(`${owner}: step must be an integer >= 0, got ${step}`);
}

/**
 * Per-step lr: linear warm-up base * (step + 1) / warmupSteps for step < warmupSteps, then
 * cosine from base to finalLr over the remaining steps:
 * final + (base - final) * 0.5 * (1 + cos(pi * (step - warmup) / (total - warmup))).
 * Steps past the end stay at finalLr.
 */
export function warmupCosineLr(options: WarmupCosineOptions): LrSchedule {
  const { baseLr, warmupSteps } = options;
  const finalLr = options.finalLr ?? 0;
  check('warmupCosineLr', 'baseLr', baseLr);
  check('warmupCosineLr', 'warmupSteps', warmupSteps, { integer: true });
  check('warmupCosineLr', 'finalLr', finalLr);
  return (step, totalSteps) => {
    checkStep('warmupCosineLr', step, totalSteps);
    if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
    const span = totalSteps - warmupSteps;
    // A run no longer than its warm-up has no cosine phase left.
    if (span <= 0) return finalLr;
    const progress = Math.min(1, (step - warmupSteps) / span);
    return finalLr + (baseLr - finalLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

export function constantLr(lr: number): LrSchedule {
  check('constantLr', 'lr', lr);
  return (step, totalSteps) => {
    checkStep('constantLr', step, totalSteps);
    return lr;
  };
}

/**
 * EMA momentum of the target network after a step, k = steps done so far (0 for the first):
 * cosine (BYOL family) m_k = 1 - (1 - base) * (cos(pi * k / K) + 1) / 2; constant (MoCo) base.
 */
export function emaMomentum(
  schedule: 'cosine' | 'constant',
  base: number,
  step: number,
  totalSteps: number,
): number {
  if (!Number.isFinite(base) || base < 0 || base > 1) {
    throw new Error(`emaMomentum: base momentum must be in [0, 1], got ${base}`);
  }
  checkStep('emaMomentum', step, totalSteps);
  if (schedule === 'constant') return base;
  if (schedule !== 'cosine') {
    throw new Error(`emaMomentum: schedule must be 'cosine' or 'constant', got '${String(schedule)}'`);
  }
  // Past the end (e.g. a resumed run that got longer) it stays at 1 rather than coming back down.
  const k = Math.min(step, totalSteps);
  return 1 - ((1 - base) * (Math.cos((Math.PI * k) / totalSteps) + 1)) / 2;
}

/** Linear scaling rule (Goyal et al.): lr = baseLr * batchSize / reference. */
export function scaleLr(baseLr: number, batchSize: number, reference = 256): number {
  check('scaleLr', 'baseLr', baseLr);
  if (!Number.isFinite(batchSize) || batchSize <= 0) {
    throw new Error(`scaleLr: batchSize must be > 0, got ${batchSize}`);
  }
  if (!Number.isFinite(reference) || reference <= 0) {
    throw new Error(`scaleLr: reference batch size must be > 0, got ${reference}`);
  }
  return (baseLr * batchSize) / reference;
}
