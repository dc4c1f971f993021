/**
 * The trainer asks the method for its momentum: a method with a target network gets it every
 * step and it is reported; one without gets none, and logs and metrics show no EMA.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/tf';
import { SGD } from '../../src/optim';
import { LogHook, Trainer } from '../../src/train';
import type { StepContext } from '../../src/contracts';
import { FakeMethod, FakeViews, fakeDataset } from './fakes';

/** FakeMethod without its target network: no momentumAt, no EMA update. */
class NoTargetFake extends FakeMethod {
  readonly received: Array<number | undefined> = [];
  override afterOptimizerStep(ctx: StepContext): void {
    this.received.push(ctx.momentum);
  }
}
Object.defineProperty(NoTargetFake.prototype, 'momentumAt', { value: undefined });

async function train(method: FakeMethod) {
  const lines: string[] = [];
  const trainer = new Trainer({
    method,
    optimizer: new SGD({ momentum: 0.9, weightDecay: 0 }),
    dataset: fakeDataset(8),
    views: new FakeViews(6),
    batchSize: 4,
    epochs: 1,
    seed: 1,
    lr: { baseLr: 0.1, warmupEpochs: 0 },
    log: (l) => lines.push(l),
    hooks: [new LogHook(1)],
  });
  const summary = await trainer.run();
  return { lines, summary, trainer };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('momentum comes from the method', () => {
  it('with a target network: momentumAt(step, totalSteps) reaches each step and every report', async () => {
    const method = new FakeMethod();
    const { lines, summary, trainer } = await train(method);
    expect(method.momenta).toEqual([method.momentumAt(0, 2), method.momentumAt(1, 2)]);
    expect(summary.metrics[0].ema).toBe(method.momentumAt(1, 2));
    expect(trainer.meta.history.points.map((p) => p[3])).toEqual(method.momenta);
    expect(lines.every((l) => / ema \d\.\d{5} /.test(l))).toBe(true);
    method.dispose();
  });

  it('without one: no momentum is passed, metrics say ema null, the log lines leave it out', async () => {
    const method = new NoTargetFake();
    expect(method.momentumAt).toBeUndefined();
    const { lines, summary, trainer } = await train(method);
    expect(method.received).toEqual([undefined, undefined]);
    expect(summary.metrics[0].ema).toBeNull();
    expect(trainer.meta.history.points.map((p) => p[3])).toEqual([null, null]);
    expect(lines.length).toBe(3);
    for (const l of lines) expect(l).not.toContain('ema');
    method.dispose();
  });
});
