import { tf } from '../tf';
import type { ParamWithGrad } from '../contracts';

/** Suffix of a momentum buffer's key in `stateTensors()`: `<param name>.momentum_buffer` (PyTorch's word). */
export const MOMENTUM_BUFFER_SUFFIX = '.momentum_buffer';

/**
 * Parameter groups of METHODS.md: 1-D parameters (BN affine, biases) and scalars get no weight
 * decay and no LARS adaptation. Our tfjs layouts keep conv/linear weights at rank > 1, so the
 * rank alone decides, as `is_excluded` (p.ndim <= 1) in the PyTorch reference.
 */
export function isExcluded(variable: tf.Tensor): boolean {
  return variable.rank <= 1;
}

export function checkNonNegative(owner: string, key: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${owner}: option '${key}' must be a finite number >= 0, got ${value}`);
  }
}

/**
 * Momentum buffers keyed by parameter name, shared by SGD and LARS. Buffers are owned here:
 * every new buffer is kept out of the caller's tidy and the one it replaces is disposed.
 */
export class MomentumBuffers {
  private readonly buffers = new Map<string, tf.Tensor>();

  constructor(private readonly owner: string) {}

  /** Throws on duplicate names, missing/mis-shaped grads or a bad lr, before any variable changes. */
  validate(params: ParamWithGrad[], lr: number): void {
    if (!Number.isFinite(lr)) throw new Error(`${this.owner}.step: lr must be a finite number, got ${lr}`);
    const seen = new Set<string>();
    for (const p of params) {
      if (seen.has(p.name)) throw new Error(`${this.owner}.step: parameter '${p.name}' is given twice`);
      seen.add(p.name);
      if (p.grad == null) throw new Error(`${this.owner}.step: parameter '${p.name}' has no gradient`);
      if (!sameShape(p.grad.shape, p.variable.shape)) {
        throw new Error(
          `${this.owner}.step: gradient of '${p.name}' has shape [${p.grad.shape}], expected [${p.variable.shape}]`,
        );
      }
      const buf = this.buffers.get(p.name);
      if (buf && !sameShape(buf.shape, p.variable.shape)) {
        throw new Error(
          `${this.owner}.step: momentum buffer of '${p.name}' has shape [${buf.shape}], expected [${p.variable.shape}]`,
        );
      }
    }
  }

  /**
   * buf = d on the first step, else mu * buf + d. Call inside tf.tidy; returns the new buffer,
   * kept out of the tidy, and disposes the old one.
   */
  update(name: string, d: tf.Tensor, momentum: number): tf.Tensor {
    const old = this.buffers.get(name);
    // clone: d may be the caller's gradient itself, which the caller disposes.
    const next = tf.keep(old ? tf.add(tf.mul(old, momentum), d) : tf.clone(d));
    this.buffers.set(name, next);
    old?.dispose();
    return next;
  }

  /** Live buffers under `<param>.momentum_buffer`; owned by the optimizer, valid until its next step. */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, buf] of this.buffers) out.set(name + MOMENTUM_BUFFER_SUFFIX, buf);
    return out;
  }

  /** Replaces all buffers with copies of `state` (the caller keeps ownership of its tensors). */
  load(state: Map<string, tf.Tensor>): void {
    for (const key of state.keys()) {
      if (!key.endsWith(MOMENTUM_BUFFER_SUFFIX) || key.length === MOMENTUM_BUFFER_SUFFIX.length) {
        throw new Error(
          `${this.owner}.loadStateTensors: unexpected state key '${key}', expected '<param name>${MOMENTUM_BUFFER_SUFFIX}'`,
        );
      }
    }
    // Copy before disposing: `state` may be this optimizer's own stateTensors().
    const copies = [...state].map(
      ([key, t]) => [key.slice(0, -MOMENTUM_BUFFER_SUFFIX.length), tf.keep(tf.clone(t))] as const,
    );
    this.dispose();
    for (const [name, t] of copies) this.buffers.set(name, t);
  }

  dispose(): void {
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}
