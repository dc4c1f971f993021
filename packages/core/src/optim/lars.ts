import { tf } from '../tf';
import type { Optimizer, ParamWithGrad } from '../contracts';
import { MomentumBuffers, checkNonNegative, isExcluded } from './momentum';

export interface LarsOptions {
  /** mu; 0.9 as BYOL. */
  momentum?: number;
  /** Applied to adapted (rank > 1) params only; 1.5e-6 as BYOL / LEWEL. */
  weightDecay?: number;
  /** Trust coefficient; 0.001 as BYOL. */
  eta?: number;
}

/**
 * LARS as METHODS.md and the reference `lars_step`. Adapted (rank > 1) params:
 * trust = eta * ||w|| / (||g|| + wd * ||w||) when both norms are > 0, else 1;
 * d = (g + wd * w) * (trust * lr). Excluded (rank <= 1: BN affine, biases): d = g * lr.
 * buf = d on the first step, else mu * buf + d; w <- w - buf (lr lives inside the buffer,
 * unlike SGD). Norms and trust stay on the device: no per-parameter read-back.
 * State: `<param>.momentum_buffer` per parameter.
 */
export class LARS implements Optimizer {
  readonly type = 'lars';
  readonly momentum: number;
  readonly weightDecay: number;
  readonly eta: number;
  private readonly state = new MomentumBuffers('LARS');

  constructor(options: LarsOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 1.5e-6;
    this.eta = options.eta ?? 0.001;
    checkNonNegative('LARS', 'momentum', this.momentum);
    checkNonNegative('LARS', 'weightDecay', this.weightDecay);
    checkNonNegative('LARS', 'eta', this.eta);
  }

  /** Updates the variables in place; the gradients stay the caller's to dispose. */
  step(params: ParamWithGrad[], lr: number): void {
    this.state.validate(params, lr);
    const wd = this.weightDecay;
    tf.tidy(() => {
      for (const { name, variable: w, grad: g } of params) {
        let d: tf.Tensor;
        if (isExcluded(w)) {
          d = tf.mul(g, lr);
        } else {
          // sqrt(sum(x^2)), not tf.norm: its Pow costs ~25 ns per element on wasm.
          const wn = tf.sqrt(tf.sum(tf.square(w)));
          const gn = tf.sqrt(tf.sum(tf.square(g)));
          const bothPositive = tf.logicalAnd(tf.greater(wn, 0), tf.greater(gn, 0));
          // The unselected branch may be 0/0 when a norm is 0; tf.where drops it.
          const ratio = tf.div(tf.mul(wn, this.eta), tf.add(gn, tf.mul(wn, wd)));
          const trust = tf.where(bothPositive, ratio, tf.onesLike(ratio));
          const decayed = wd === 0 ? g : tf.add(g, tf.mul(w, wd));
          // (trust * lr) first, as the reference's d * (local * lr).
          d = tf.mul(decayed, tf.mul(trust, lr));
        }
        const buf = this.state.update(name, d, this.momentum);
        w.assign(tf.sub(w, buf));
      }
    });
  }

  stateTensors(): Map<string, tf.Tensor> {
    return this.state.stateTensors();
  }

  loadStateTensors(state: Map<string, tf.Tensor>): void {
    this.state.load(state);
  }

  dispose(): void {
    this.state.dispose();
  }
}
