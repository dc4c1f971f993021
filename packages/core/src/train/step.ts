import { tf } from '../tf';
import type {
  Method,
  Optimizer,
  ParamWithGrad,
  StepContext,
  StepResult,
  TrainingProgress,
} from '../contracts';
import { readsAsync, readsSync, type HostReads } from '../util/reads';

/** Thrown before the optimizer step when the loss is NaN or infinite; the model is left untouched. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly loss: number,
    readonly terms: Record<string, number>,
    readonly step?: number,
  ) {
    const where = step === undefined ? '' : ` at step ${step}`;
    const parts = Object.entries(terms)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    super(`loss is ${loss}${where}${parts ? ` (${parts})` : ''}; the optimizer step was not applied`);
    this.name = 'NonFiniteLossError';
  }
}

export interface LossAndGrads {
  loss: tf.Scalar;
  terms: Record<string, tf.Scalar>;
  outputs: Record<string, tf.Tensor>;
  /** Gradient of the loss per trainable parameter name (parameters the loss does not reach are absent). */
  grads: Map<string, tf.Tensor>;
}

/**
 * Forward both views under the tape and differentiate the loss w.r.t. the method's trainable
 * parameters. Everything returned is kept outside any tidy scope; the caller disposes it
 * (see disposeLossAndGrads).
 */
export function lossAndGrads(
  method: Method,
  view1: tf.Tensor4D,
  view2: tf.Tensor4D,
  progress?: TrainingProgress,
): LossAndGrads {
  const params = method.trainableParameters();
  const byVarName = new Map<string, string>();
  for (const p of params) {
    if (!p.variable.trainable)
      throw new Error(`trainable parameter '${p.name}' is a non-trainable tf.Variable`);
    if (byVarName.has(p.variable.name)) throw new Error(`parameter '${p.name}' is listed twice`);
    byVarName.set(p.variable.name, p.name);
  }
  let terms: Record<string, tf.Scalar> = {};
  let outputs: Record<string, tf.Tensor> = {};
  // variableGrads runs f inside a tidy that keeps only the loss; terms/outputs survive via tf.keep.
  const { value, grads } = tf.variableGrads(
    () => {
      const out = method.computeLoss(view1, view2, progress);
      terms = keepAll(out.terms);
      outputs = keepAll(out.outputs);
      return out.loss;
    },
    params.map((p) => p.variable),
  );
  const named = new Map<string, tf.Tensor>();
  for (const [varName, g] of Object.entries(grads)) {
    const name = byVarName.get(varName);
    if (name === undefined || g == null) continue;
    named.set(name, g);
  }
  return { loss: value, terms, outputs, grads: named };
}

export function disposeLossAndGrads(r: LossAndGrads): void {
  const seen = new Set<tf.Tensor>();
  const all = [r.loss, ...Object.values(r.terms), ...Object.values(r.outputs), ...r.grads.values()];
  for (const t of all) {
    // A term may be the loss itself (single-term methods): dispose each tensor once.
    if (seen.has(t)) continue;
    seen.add(t);
    t.dispose();
  }
}

function keepAll<T extends tf.Tensor>(rec: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, t] of Object.entries(rec)) out[k] = tf.keep(t);
  return out;
}

/**
 * What the trainer calls per batch: trainStepAsync, or e.g. a data-parallel runner's step
 * (packages/core/src/parallel). Same contract: a non-finite loss throws NonFiniteLossError
 * before anything is updated, and no tensor outlives the call.
 */
export type StepFn = (
  method: Method,
  optimizer: Optimizer,
  view1: tf.Tensor4D,
  view2: tf.Tensor4D,
  ctx: StepContext & { step?: number },
) => StepResult | Promise<StepResult>;

/**
 * One training step: loss and gradients, optimizer update with named gradients, then the
 * method's post-step update (EMA target with ctx.momentum, queue). A non-finite loss throws NonFiniteLossError
 * before anything is updated. No tensor outlives the call. Reads back once (the loss and its
 * terms, in one tensor) with dataSync: cpu, wasm and node backends; see trainStepAsync.
 */
export function trainStep(
  method: Method,
  optimizer: Optimizer,
  view1: tf.Tensor4D,
  view2: tf.Tensor4D,
  ctx: StepContext & { step?: number },
): StepResult {
  return readsSync(stepReads(method, optimizer, view1, view2, ctx));
}

/** trainStep with its one read-back asynchronous: every backend, and the only way on webgpu. */
export function trainStepAsync(
  method: Method,
  optimizer: Optimizer,
  view1: tf.Tensor4D,
  view2: tf.Tensor4D,
  ctx: StepContext & { step?: number },
): Promise<StepResult> {
  return readsAsync(stepReads(method, optimizer, view1, view2, ctx));
}

function* stepReads(
  method: Method,
  optimizer: Optimizer,
  view1: tf.Tensor4D,
  view2: tf.Tensor4D,
  ctx: StepContext & { step?: number },
): HostReads<StepResult> {
  const r = lossAndGrads(method, view1, view2, ctx.progress);
  try {
    const names = Object.keys(r.terms);
    // The loss and its terms in one tensor: one read-back per step.
    const packed = tf.stack([r.loss, ...names.map((k) => r.terms[k])]);
    let values: tf.TypedArray;
    try {
      [values] = yield [packed];
    } finally {
      packed.dispose();
    }
    const loss = values[0];
    const terms: Record<string, number> = {};
    names.forEach((k, i) => (terms[k] = values[i + 1]));
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, terms, ctx.step);
    applyGradients(method, optimizer, r.grads, ctx);
    return { loss, terms };
  } finally {
    disposeLossAndGrads(r);
  }
}

/**
 * One optimizer step with gradients by parameter name, then the method's post-step update
 * (the target's EMA with ctx.momentum, the queue).
 */
export function applyGradients(
  method: Method,
  optimizer: Optimizer,
  grads: Map<string, tf.Tensor>,
  ctx: StepContext,
): void {
  const params: ParamWithGrad[] = [];
  for (const p of method.trainableParameters()) {
    const grad = grads.get(p.name);
    // Like PyTorch's p.grad is None: a parameter the loss does not reach is not stepped.
    if (grad !== undefined) params.push({ name: p.name, variable: p.variable, grad });
  }
  optimizer.step(params, ctx.lr);
  method.afterOptimizerStep(ctx);
}
