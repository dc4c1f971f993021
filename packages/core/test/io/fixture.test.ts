import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../src/io';

const fixture = fileURLToPath(
  new URL('../../../../test/fixtures/parity/byol/init.safetensors', import.meta.url),
);

describe('BYOL parity fixture (written by PyTorch safetensors)', () => {
  it('reads with the expected PyTorch names and shapes', () => {
    const t = parseSafetensors(readFileSync(fixture), fixture);
    expect(t.size).toBe(138);
    const conv1 = t.get('online.backbone.conv1.weight')!;
    expect(conv1.dtype).toBe('F32');
    expect(conv1.shape).toEqual([8, 3, 3, 3]);
    expect(conv1.data.length).toBe(216);
    expect(t.get('online.neck.mlp.0.weight')!.shape).toEqual([16, 32, 1]);
    expect(t.get('online.neck.mlp.1.running_var')!.shape).toEqual([16]);
    expect(t.get('target.backbone.layer4.0.conv1.weight')!.shape).toEqual([32, 16, 3, 3]);
    // Fresh BatchNorm buffers: running_var starts at 1; conv weights are finite and not all zero.
    expect(Array.from(t.get('online.backbone.bn1.running_var')!.data)).toEqual(new Array(8).fill(1));
    expect(conv1.data.every(Number.isFinite)).toBe(true);
    expect(conv1.data.some((v) => v !== 0)).toBe(true);
  });
});
