import type { Rng } from '../contracts';

/**
 * Seeded PRNG (mulberry32 over a splitmix32-mixed seed). Plain JS, so the same seed gives the
 * same numbers on every backend and machine; its whole state is one integer (checkpointable).
 */
export class SeededRng implements Rng {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = mix(seed >>> 0);
  }

  /** A child generator whose stream does not overlap this one's in practice. */
  fork(salt: number): SeededRng {
    return new SeededRng(mix((this.state ^ Math.imul(salt + 1, 0x9e3779b9)) >>> 0));
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spareNormal !== undefined) {
      const s = this.spareNormal;
      this.spareNormal = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  getState(): { state: number; spareNormal: number | null } {
    return { state: this.state, spareNormal: this.spareNormal ?? null };
  }

  setState(s: { state: number; spareNormal: number | null }): void {
    this.state = s.state >>> 0;
    this.spareNormal = s.spareNormal ?? undefined;
  }
}

function mix(x: number): number {
  x = (x + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
