import { afterEach, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { LARS, MOMENTUM_BUFFER_SUFFIX, SGD } from '../../src/optim';
import type { Optimizer, ParamWithGrad } from '../../src/contracts';

type Spec = Record<string, { shape: number[]; value: number[] }>;

const vars: tf.Variable[] = [];
function makeVars(spec: Spec): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, { shape, value }] of Object.entries(spec)) {
    const init = tf.tensor(value, shape);
    out[name] = tf.variable(init);
    init.dispose();
    vars.push(out[name]);
  }
  return out;
}

function copyVars(src: Record<string, tf.Variable>): Record<string, tf.Variable> {
  const out: Record<string, tf.Variable> = {};
  for (const [name, x] of Object.entries(src)) {
    const init = tf.clone(x);
    out[name] = tf.variable(init);
    init.dispose();
    vars.push(out[name]);
  }
  return out;
}

/** One step with fresh gradient tensors, disposed afterwards as a trainer would. */
function step(opt: Optimizer, v: Record<string, tf.Variable>, grads: Record<string, number[]>, lr: number) {
  const params: ParamWithGrad[] = Object.entries(grads).map(([name, g]) => ({
    name,
    variable: v[name],
    grad: tf.tensor(g, v[name].shape),
  }));
  opt.step(params, lr);
  params.forEach((p) => p.grad.dispose());
}

function expectClose(t: tf.Tensor, expected: number[], tol = 1e-6) {
  const got = Array.from(t.dataSync());
  expect(got.length).toBe(expected.length);
  got.forEach((x, i) => expect(x).toBeCloseTo(expected[i], -Math.log10(tol)));
}

afterEach(() => {
  vars.splice(0).forEach((v) => v.dispose());
});

describe('SGD', () => {
  // w rank 2 (decayed), b rank 1 (no decay). lr 0.1 then 0.05; mu 0.9, wd 0.01.
  const spec: Spec = { w: { shape: [2, 2], value: [1, 2, 3, 4] }, b: { shape: [2], value: [1, -1] } };
  const g1 = { w: [0.5, 0, 0, -0.5], b: [0.2, 0.4] };
  const g2 = { w: [0.1, 0.2, -0.3, 0], b: [-0.2, 0.1] };

  it('matches two hand-computed steps', () => {
    const v = makeVars(spec);
    const opt = new SGD({ momentum: 0.9, weightDecay: 0.01 });
    step(opt, v, g1, 0.1);
    // w: d = g + 0.01 w = [0.51, 0.02, 0.03, -0.46] = buf; w - 0.1 buf
    expectClose(v.w, [0.949, 1.998, 2.997, 4.046]);
    // b: d = g (excluded from decay)
    expectClose(v.b, [0.98, -1.04]);
    step(opt, v, g2, 0.05);
    // w: buf = 0.9 [0.51, 0.02, 0.03, -0.46] + g2 + 0.01 w1 = [0.56849, 0.23798, -0.24303, -0.37354]
    expectClose(
      opt.stateTensors().get('w' + MOMENTUM_BUFFER_SUFFIX)!,
      [0.56849, 0.23798, -0.24303, -0.37354],
    );
    expectClose(v.w, [0.9205755, 1.986101, 3.0091515, 4.064677]);
    // b: buf = 0.9 [0.2, 0.4] + [-0.2, 0.1] = [-0.02, 0.46]; b1 - 0.05 buf
    expectClose(v.b, [0.981, -1.063]);
    opt.dispose();
  });

  it('defaults to MoCo v2 momentum 0.9 and wd 1e-4', () => {
    const opt = new SGD();
    expect([opt.type, opt.momentum, opt.weightDecay]).toEqual(['sgd', 0.9, 1e-4]);
  });

  it('save/load of the momentum buffers continues the run exactly', () => {
    const a = makeVars(spec);
    const optA = new SGD({ momentum: 0.9, weightDecay: 0.01 });
    step(optA, a, g1, 0.1);
    const state = optA.stateTensors();
    expect([...state.keys()].sort()).toEqual(['b.momentum_buffer', 'w.momentum_buffer']);
    // Save as a checkpointer would (copies), then resume weights and buffers in a fresh optimizer.
    const saved = new Map([...state].map(([k, t]) => [k, tf.clone(t)] as const));
    const b = copyVars(a);
    const optB = new SGD({ momentum: 0.9, weightDecay: 0.01 });
    optB.loadStateTensors(saved);
    saved.forEach((t) => t.dispose()); // the optimizer keeps its own copies
    step(optA, a, g2, 0.05);
    step(optB, b, g2, 0.05);
    expectClose(b.w, [0.9205755, 1.986101, 3.0091515, 4.064677]);
    expectClose(b.b, [0.981, -1.063]);
    optA.dispose();
    optB.dispose();
  });

  it('rejects unknown state keys and mismatched shapes, naming them', () => {
    const v = makeVars(spec);
    const opt = new SGD();
    const bad = tf.zeros([2]);
    expect(() => opt.loadStateTensors(new Map([['w.exp_avg', bad]]))).toThrow(/'w.exp_avg'/);
    opt.loadStateTensors(new Map([['w.momentum_buffer', bad]]));
    expect(() => step(opt, v, g1, 0.1)).toThrow(/momentum buffer of 'w' has shape \[2\], expected \[2,2\]/);
    expect(() =>
      opt.step(
        [
          { name: 'b', variable: v.b, grad: bad },
          { name: 'b', variable: v.b, grad: bad },
        ],
        0.1,
      ),
    ).toThrow(/'b' is given twice/);
    bad.dispose();
    opt.dispose();
  });
});

describe('LARS', () => {
  // lr 0.5, mu 0.9, wd 0.1, eta 0.6 so trust ratios are visible.
  // w: adapted; z: adapted, zero grad at step 1 (trust 1); o: adapted, zero weight at step 1
  // (trust 1); b: rank 1, excluded (trust 1, no decay).
  const spec: Spec = {
    w: { shape: [2, 2], value: [3, 0, 0, 4] },
    z: { shape: [1, 2], value: [1, -2] },
    o: { shape: [2, 1], value: [0, 0] },
    b: { shape: [2], value: [1, -1] },
  };
  const g1 = { w: [0.6, 0, 0, 0.8], z: [0, 0], o: [0.5, -0.5], b: [0.2, 0.4] };
  const g2 = { w: [0, 0.3, 0.4, 0], z: [0.3, 0.4], o: [0.1, 0.1], b: [-0.2, 0.1] };
  const opts = { momentum: 0.9, weightDecay: 0.1, eta: 0.6 };

  it('matches two hand-computed steps', () => {
    const v = makeVars(spec);
    const opt = new LARS(opts);
    step(opt, v, g1, 0.5);
    // w: ||w|| 5, ||g|| 1, trust = 0.6*5/(1+0.1*5) = 2; d = (g + 0.1 w) * 2 * 0.5 = [0.9, 0, 0, 1.2]
    expectClose(v.w, [2.1, 0, 0, 2.8]);
    // z: zero grad -> trust 1; d = 0.1 z * 0.5 = [0.05, -0.1]
    expectClose(v.z, [0.95, -1.9]);
    // o: zero weight -> trust 1; d = g * 0.5
    expectClose(v.o, [-0.25, 0.25]);
    // b: excluded; d = g * 0.5, no decay
    expectClose(v.b, [0.9, -1.2]);
    step(opt, v, g2, 0.5);
    // w: ||w1|| 3.5, ||g2|| 0.5, trust = 2.1/0.85; d = (g2 + 0.1 w1) * trust * 0.5; buf = 0.9 buf1 + d
    expectClose(
      opt.stateTensors().get('w.momentum_buffer')!,
      [1.0694117647, 0.3705882353, 0.4941176471, 1.4258823529],
    );
    expectClose(v.w, [1.0305882353, -0.3705882353, -0.4941176471, 1.3741176471]);
    // z: ||z1|| = sqrt(0.95^2+1.9^2), ||g2|| 0.5, trust 1.78903904130538
    expectClose(v.z, [0.5516647893, -1.9978490993]);
    // o: ||o1|| = 0.25 sqrt2, ||g2|| = 0.1 sqrt2, trust = 0.6*0.25/(0.1+0.025) = 1.2
    expectClose(v.o, [-0.52, 0.4]);
    // b: buf = 0.9 [0.1, 0.2] + 0.5 [-0.2, 0.1] = [-0.01, 0.23]
    expectClose(v.b, [0.91, -1.43]);
    opt.dispose();
  });

  it('defaults to BYOL momentum 0.9, wd 1.5e-6, eta 0.001', () => {
    const opt = new LARS();
    expect([opt.type, opt.momentum, opt.weightDecay, opt.eta]).toEqual(['lars', 0.9, 1.5e-6, 0.001]);
  });

  it('save/load of the momentum buffers continues the run exactly', () => {
    const a = makeVars(spec);
    const optA = new LARS(opts);
    step(optA, a, g1, 0.5);
    const b = copyVars(a);
    const optB = new LARS(opts);
    optB.loadStateTensors(optA.stateTensors());
    step(optA, a, g2, 0.5);
    step(optB, b, g2, 0.5);
    for (const name of Object.keys(spec)) expectClose(b[name], Array.from(a[name].dataSync()), 1e-7);
    expectClose(b.w, [1.0305882353, -0.3705882353, -0.4941176471, 1.3741176471]);
    optA.dispose();
    optB.dispose();
  });
});

describe('optimizer memory', () => {
  for (const make of [() => new SGD(), () => new LARS()]) {
    it(`${make().type}: tf.memory().numTensors is flat across steps and zero after dispose`, () => {
      const before = tf.memory().numTensors;
      const v = makeVars({
        w: { shape: [3, 4], value: Array.from({ length: 12 }, (_, i) => i - 5) },
        b: { shape: [4], value: [1, 2, 3, 4] },
      });
      const opt = make();
      const grads = { w: Array.from({ length: 12 }, (_, i) => 0.1 * i), b: [0.1, -0.1, 0.2, 0] };
      step(opt, v, grads, 0.1);
      const after1 = tf.memory().numTensors;
      expect(after1).toBe(before + 2 + 2); // 2 variables + 2 momentum buffers
      for (let i = 0; i < 4; i++) step(opt, v, grads, 0.1);
      expect(tf.memory().numTensors).toBe(after1);
      opt.loadStateTensors(opt.stateTensors()); // reloading its own live buffers must not lose them
      expect(tf.memory().numTensors).toBe(after1);
      opt.dispose();
      expect(tf.memory().numTensors).toBe(before + 2);
    });
  }
});
