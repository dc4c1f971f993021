import { tf } from '../tf';
import type { Optimizer, ParamWithGrad } from '../contracts';
import { MomentumBuffers, checkNonNegative, isExcluded } from './momentum';

export interface SgdOptions {
  /** mu; 0.9 as MoCo v2. */
  momentum?: number;
  /** Applied to rank > 1 parameters only; 1e-4 as MoCo v2. */
  weightDecay?: number;
}

/**
 * SGD with momentum as METHODS.md (PyTorch `torch.optim.SGD`, dampening 0, no Nesterov):
 * d = g + wd * w (wd only for rank > 1 params); buf = d on the first step, else mu * buf + d;
 * w <- w - lr * buf. State: `<param>.momentum_buffer` per parameter.
 */
export class SGD implements Optimizer {
  readonly type = 'sgd';
  readonly momentum: number;
  readonly weightDecay: number;
  private readonly state = new MomentumBuffers('SGD');

  constructor(options: SgdOptions = {}) {
    this.momentum = options.momentum ?? 0.9;
    this.weightDecay = options.weightDecay ?? 1e-4;
    checkNonNegative('SGD', 'momentum', this.momentum);
    checkNonNegative('SGD', 'weightDecay', this.weightDecay);
  }

  /** Updates the variables in place; the gradients stay the caller's to dispose. */
  step(params: ParamWithGrad[], lr: number): void {
    this.state.validate(params, lr);
    tf.tidy(() => {
      for (const { name, variable: w, grad: g } of params) {
        const d = isExcluded(w) || this.weightDecay === 0 ? g : tf.add(g, tf.mul(w, this.weightDecay));
        const buf = this.state.update(name, d, this.momentum);
        w.assign(tf.sub(w, tf.mul(buf, lr)));
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
