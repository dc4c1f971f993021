import type { EncoderOutput, MethodContext, StepContext } from '../contracts';
import type { tf } from '../tf';
import { emaMomentum } from '../optim/schedules';
import { emaUpdate } from '../optim/ema';
import { BaseMethod, type MethodSpec } from './base-method';
import type { Encoder } from './encoder';

/** The momentum of a target network over a run: cosine (BYOL family) or constant (MoCo). */
export interface EmaSchedule {
  schedule: 'cosine' | 'constant';
  baseMomentum: number;
}

/**
 * A method with a target network: an EMA copy of the online encoder (`target.*`) that the
 * optimizer never updates, following the online one after each step with the schedule's momentum.
 */
export abstract class MomentumMethod extends BaseMethod {
  readonly momentumSchedule: EmaSchedule;

  protected constructor(ctx: MethodContext, spec: MethodSpec & { momentum: EmaSchedule }) {
    const { momentum, ...networks } = spec;
    super(ctx, networks, { target: true });
    this.momentumSchedule = momentum;
  }

  get target(): Encoder {
    return this.targetEncoder!;
  }

  momentumAt(step: number, totalSteps: number): number {
    const { schedule, baseMomentum } = this.momentumSchedule;
    return emaMomentum(schedule, baseMomentum, step, totalSteps);
  }

  /** Target forward. No gradient reaches it: its variables are never in the optimised list. */
  protected targetForward(x: tf.Tensor4D): EncoderOutput {
    return this.target.forward(x);
  }

  override afterOptimizerStep(ctx: StepContext): void {
    if (ctx.momentum === undefined) {
      throw new Error(
        `${this.type}: the step context has no momentum for the target's EMA (pass method.momentumAt(step, totalSteps))`,
      );
    }
    emaUpdate(this.target.stateEntries(), this.online.stateEntries(), ctx.momentum);
    super.afterOptimizerStep(ctx);
  }
}
