import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Sha256 } from '../../src/util/sha256';

describe('Sha256', () => {
  it('equals node:crypto for every padding boundary and any split of the input', () => {
    const bytes = Uint8Array.from({ length: 70_003 }, (_, i) => (i * 7919) & 255);
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 70_003]) {
      const cut = Math.floor(n / 3);
      const ours = new Sha256()
        .update(bytes.subarray(0, cut))
        .update('x')
        .update(bytes.subarray(cut, n))
        .digest();
      const node = createHash('sha256')
        .update(bytes.subarray(0, cut))
        .update('x')
        .update(bytes.subarray(cut, n))
        .digest('hex');
      expect(ours, `length ${n}`).toBe(node);
    }
  });

  it('refuses updates after the digest', () => {
    const h = new Sha256();
    h.digest();
    expect(() => h.update('a')).toThrow(/after digest/);
  });
});
