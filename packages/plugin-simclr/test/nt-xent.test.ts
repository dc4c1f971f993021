import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRng, tf } from '@selfsup/core';
import { groupedNtXent, ntXent, ntXentRegistration } from '@selfsup/plugin-simclr';

const matrix = (rows: number, cols: number, rng: SeededRng) =>
  Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));

/** NT-Xent written out anchor by anchor in plain numbers, as the SimCLR paper's Algorithm 1. */
function ntXentLoop(a: number[][], b: number[][], tau: number): number {
  const u = [...a, ...b].map((row) => {
    const norm = Math.max(Math.hypot(...row), 1e-12);
    return row.map((v) => v / norm);
  });
  const n = a.length;
  const sim = (j: number, k: number) => u[j].reduce((s, v, i) => s + v * u[k][i], 0) / tau;
  let total = 0;
  for (let j = 0; j < 2 * n; j++) {
    const pos = j < n ? j + n : j - n;
    let denom = 0;
    for (let k = 0; k < 2 * n; k++) if (k !== j) denom += Math.exp(sim(j, k));
    total += -sim(j, pos) + Math.log(denom);
  }
  return total / (2 * n);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('ntXent', () => {
  it('equals the per-anchor loop (positive: the other view; the anchor itself left out)', () => {
    const rng = new SeededRng(5);
    for (const [n, d, tau] of [
      [4, 3, 0.5],
      [6, 8, 0.1],
      [2, 5, 1],
    ]) {
      const a = matrix(n, d, rng);
      const b = matrix(n, d, rng);
      const loss = tf.tidy(() => ntXent(tf.tensor2d(a), tf.tensor2d(b), tau).dataSync()[0]);
      expect(loss).toBeCloseTo(ntXentLoop(a, b, tau), 4);
    }
  });

  it('is symmetric in the two views and scale-free per row', () => {
    const rng = new SeededRng(9);
    const a = matrix(5, 4, rng);
    const b = matrix(5, 4, rng);
    const [ab, ba, scaled] = tf.tidy(() => [
      ntXent(tf.tensor2d(a), tf.tensor2d(b), 0.5).dataSync()[0],
      ntXent(tf.tensor2d(b), tf.tensor2d(a), 0.5).dataSync()[0],
      ntXent(tf.mul(tf.tensor2d(a), 7), tf.tensor2d(b), 0.5).dataSync()[0],
    ]);
    expect(ba).toBeCloseTo(ab, 5);
    expect(scaled).toBeCloseTo(ab, 5);
  });

  it('two identical, orthogonal pairs at low temperature: the loss goes to 0; gradients are finite', () => {
    const a = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const low = tf.tidy(() => ntXent(a, a, 0.01).dataSync()[0]);
    // Each anchor's positive has cos 1, the others 0: log(1 + 2 exp(-1/T)) -> 0.
    expect(low).toBeCloseTo(Math.log(1 + 2 * Math.exp(-100)), 6);
    const g = tf.grad((x: tf.Tensor) => ntXent(x as tf.Tensor2D, tf.reverse(x, 0) as tf.Tensor2D, 0.5))(a);
    expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([a, g]);
  });

  it('grouped: the mean over groups of each group on its own (negatives stay within a group)', () => {
    const rng = new SeededRng(13);
    const [g, n, d] = [3, 4, 5];
    const a = Array.from({ length: g }, () => matrix(n, d, rng));
    const b = Array.from({ length: g }, () => matrix(n, d, rng));
    const grouped = tf.tidy(() => groupedNtXent(tf.tensor3d(a), tf.tensor3d(b), 0.5).dataSync()[0]);
    const each = a.map((ag, i) => ntXentLoop(ag, b[i], 0.5));
    expect(grouped).toBeCloseTo(each.reduce((s, v) => s + v, 0) / g, 4);
  });

  it("the registered 'nt_xent' loss has the grouped form (LEWEL's per-slot scoring takes it)", () => {
    const loss = ntXentRegistration.create({ temperature: 0.5 });
    const rng = new SeededRng(21);
    const [a, b] = [[matrix(4, 3, rng)], [matrix(4, 3, rng)]];
    const [plain, grouped] = tf.tidy(() => [
      loss(tf.tensor2d(a[0]), tf.tensor2d(b[0])).dataSync()[0],
      loss.grouped!(tf.tensor3d(a), tf.tensor3d(b)).dataSync()[0],
    ]);
    expect(grouped).toBeCloseTo(plain, 5);
    expect(plain).toBeCloseTo(ntXentLoop(a[0], b[0], 0.5), 4);
  });
});
