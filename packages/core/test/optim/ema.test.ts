import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { emaUpdate } from '../../src/optim';
import type { StateEntry } from '../../src/nn/module';

const made: tf.Variable[] = [];
function entry(
  name: string,
  value: number[],
  kind: 'parameter' | 'buffer' = 'parameter',
  shape = [value.length],
) {
  const init = tf.tensor(value, shape);
  const variable = tf.variable(init, kind === 'parameter');
  init.dispose();
  made.push(variable);
  return { name, variable, layout: 'identity', kind } as StateEntry;
}

afterEach(() => {
  made.splice(0).forEach((v) => v.dispose());
});

describe('emaUpdate', () => {
  it('moves target parameters towards online ones and leaves buffers untouched', () => {
    const target = [
      entry('conv.weight', [1, 2, 3, 4], 'parameter', [2, 2]),
      entry('bn.running_mean', [5, 5], 'buffer'),
    ];
    const online = [
      entry('conv.weight', [3, 0, 3, -4], 'parameter', [2, 2]),
      entry('bn.running_mean', [9, 9], 'buffer'),
    ];
    emaUpdate(target, online, 0.75);
    // 0.75 t + 0.25 o
    expect(Array.from(target[0].variable.dataSync())).toEqual([1.5, 1.5, 3, 2]);
    expect(Array.from(target[1].variable.dataSync())).toEqual([5, 5]);
    expect(Array.from(online[0].variable.dataSync())).toEqual([3, 0, 3, -4]);
  });

  it('matches names after stripping prefixes; m = 1 keeps, m = 0 copies', () => {
    const target = [entry('target.fc.weight', [1, 1]), entry('target.fc.bias', [0])];
    const online = [entry('online.fc.bias', [2]), entry('online.fc.weight', [3, 5])];
    emaUpdate(target, online, 1, { target: 'target.', online: 'online.' });
    expect(Array.from(target[0].variable.dataSync())).toEqual([1, 1]);
    emaUpdate(target, online, 0, { target: 'target.', online: 'online.' });
    expect(Array.from(target[0].variable.dataSync())).toEqual([3, 5]);
    expect(Array.from(target[1].variable.dataSync())).toEqual([2]);
  });

  it('throws naming mismatched parameters, before updating anything', () => {
    const target = [entry('a', [1]), entry('b', [1])];
    expect(() => emaUpdate(target, [entry('a', [0]), entry('c', [0])], 0.5)).toThrow(
      /only in target: b; only in online: c/,
    );
    expect(() => emaUpdate(target, [entry('a', [0]), entry('b', [0, 0])], 0.5)).toThrow(
      /'b' has target shape \[1\] but online shape \[2\]/,
    );
    expect(() => emaUpdate(target, [entry('x.a', [0])], 0.5, { online: 'online.' })).toThrow(
      /'x.a' does not start with the prefix 'online.'/,
    );
    expect(() => emaUpdate(target, target, 1.5)).toThrow(/momentum/);
    expect(Array.from(target[0].variable.dataSync())).toEqual([1]);
  });

  it('does not leak tensors', () => {
    const target = [entry('w', [1, 2, 3]), entry('b', [0])];
    const online = [entry('w', [0, 0, 0]), entry('b', [1])];
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) emaUpdate(target, online, 0.9);
    expect(tf.memory().numTensors).toBe(before);
    expect(target[0].variable.dataSync()[2]).toBeCloseTo(3 * 0.9 ** 5, 5);
  });
});
