import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRng, tf } from '@selfsup/core';
import { batchInfoNce, groupedInfoNce, infoNceRegistration } from '@selfsup/plugin-moco';

const rows = (n: number, d: number, rng: SeededRng) =>
  Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));

/** In-batch InfoNCE written out row by row: row i against every target row, positive j = i. */
function infoNceLoop(q: number[][], k: number[][], tau: number): number {
  const unit = (r: number[]) => r.map((v) => v / Math.max(Math.hypot(...r), 1e-12));
  const [qu, ku] = [q.map(unit), k.map(unit)];
  const dot = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i], 0) / tau;
  let total = 0;
  for (let i = 0; i < q.length; i++) {
    const denom = ku.reduce((s, kj) => s + Math.exp(dot(qu[i], kj)), 0);
    total += Math.log(denom) - dot(qu[i], ku[i]);
  }
  return total / q.length;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('in-batch InfoNCE', () => {
  it('batchInfoNce equals the row loop', () => {
    const rng = new SeededRng(3);
    const [q, k] = [rows(6, 4, rng), rows(6, 4, rng)];
    const v = tf.tidy(() => batchInfoNce(tf.tensor2d(q), tf.tensor2d(k), 0.2).dataSync()[0]);
    expect(v).toBeCloseTo(infoNceLoop(q, k, 0.2), 4);
  });

  it('groupedInfoNce is the mean over groups, negatives from the own group only', () => {
    const rng = new SeededRng(4);
    const q = [rows(5, 3, rng), rows(5, 3, rng)];
    const k = [rows(5, 3, rng), rows(5, 3, rng)];
    const v = tf.tidy(() => groupedInfoNce(tf.tensor3d(q), tf.tensor3d(k), 0.5).dataSync()[0]);
    expect(v).toBeCloseTo((infoNceLoop(q[0], k[0], 0.5) + infoNceLoop(q[1], k[1], 0.5)) / 2, 4);
  });

  it("the registered 'info_nce' loss has the grouped form (LEWEL's per-slot scoring takes it)", () => {
    const loss = infoNceRegistration.create({ temperature: 0.3 });
    const rng = new SeededRng(6);
    const [q, k] = [[rows(4, 3, rng)], [rows(4, 3, rng)]];
    const [plain, grouped] = tf.tidy(() => [
      loss(tf.tensor2d(q[0]), tf.tensor2d(k[0])).dataSync()[0],
      loss.grouped!(tf.tensor3d(q), tf.tensor3d(k)).dataSync()[0],
    ]);
    expect(grouped).toBeCloseTo(plain, 5);
    expect(plain).toBeCloseTo(infoNceLoop(q[0], k[0], 0.3), 4);
  });
});
