import { tf } from '../tf';
import type { Method, Optimizer, Plugin } from '../contracts';
import { createPipeline } from '../di/pipeline';
import { exportStateDictReads, importStateDict } from '../io/state-dict';
import type { TensorData } from '../io/safetensors';
import { disposeLossAndGrads, lossAndGrads } from '../train/step';
import { readsAsync, readsSync, type HostReads } from '../util/reads';
import type { ParityFixture } from './fixture';
import { fixtureToConfig } from './fixture';

/** Tolerances of test/fixtures/README.md: one place for every parity check. */
export const PARITY_TOLERANCE = {
  /** Losses: relative. */
  lossRelative: 1e-4,
  /** Tensors: max |a - b| <= tensor * max(1, max |b|). */
  tensor: 1e-3,
} as const;

export interface ParityCheck {
  name: string;
  kind: 'loss' | 'tensor' | 'momentum';
  /** max |a - b| for tensors, |a - b| / max(|b|, tiny) for losses. */
  error: number;
  /** The bound the error must stay within. */
  bound: number;
  ok: boolean;
}

export interface ParityReport {
  fixture: string;
  variant: string;
  backend: string;
  ok: boolean;
  checks: ParityCheck[];
  worst: ParityCheck;
}

/** View t of the inputs as NHWC. */
function viewOf(f: ParityFixture, name: string): tf.Tensor4D {
  const t = f.inputs.get(name);
  if (!t) throw new Error(`${f.dir}/inputs.safetensors: missing '${name}'`);
  if (t.shape.length !== 4)
    throw new Error(`${f.dir}/inputs.safetensors: '${name}' has shape [${t.shape}], expected NCHW`);
  return tf.tidy(() =>
    tf.transpose(tf.tensor4d(t.data, t.shape as [number, number, number, number]), [0, 2, 3, 1]),
  );
}

function compareTensor(name: string, actual: TensorData, expected: TensorData): ParityCheck {
  if (actual.shape.join(',') !== expected.shape.join(',')) {
    return { name, kind: 'tensor', error: Infinity, bound: 0, ok: false };
  }
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const d = Math.abs(actual.data[i] - expected.data[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
    maxRef = Math.max(maxRef, Math.abs(expected.data[i]));
  }
  const bound = PARITY_TOLERANCE.tensor * Math.max(1, maxRef);
  return { name, kind: 'tensor', error: maxDiff, bound, ok: maxDiff <= bound };
}

function compareLoss(name: string, actual: number, expected: number): ParityCheck {
  const error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-12);
  const ok = Number.isFinite(actual) && (error <= PARITY_TOLERANCE.lossRelative || actual === expected);
  return {
    name,
    kind: 'loss',
    error: Number.isFinite(actual) ? error : Infinity,
    bound: PARITY_TOLERANCE.lossRelative,
    ok,
  };
}

/** A tensor the model has but the fixture does not pin: a failed check named after it. */
const missingExpected = (name: string): ParityCheck => ({
  name: `${name} (missing from expected.safetensors)`,
  kind: 'tensor',
  error: Infinity,
  bound: 0,
  ok: false,
});

/** A failed check when the fixture has a target network (ema) and the method has none, or the reverse. */
function targetNetworkMismatch(fixtureHasTarget: boolean, methodHasTarget: boolean): ParityCheck | undefined {
  if (fixtureHasTarget === methodHasTarget) return undefined;
  const name = fixtureHasTarget
    ? 'ema (the fixture has a target network; the method has no momentumAt)'
    : 'ema (the fixture has ema: null; the method has a target network)';
  return { name, kind: 'momentum', error: Infinity, bound: 0, ok: false };
}

/** Our diagnostics in the reference's layout: aligned [B,S,D] -> (B,D,S); the rest as is. */
function* outputInTorchLayout(name: string, t: tf.Tensor): HostReads<TensorData> {
  const layout = name === 'aligned_online_v1' ? tf.transpose(t, [0, 2, 1]) : t;
  try {
    const [data] = yield [layout];
    return { shape: [...layout.shape], data: data as Float32Array };
  } finally {
    if (layout !== t) layout.dispose();
  }
}

/**
 * Buffers the fixtures may lack: the reference's fixtures predate num_batches_tracked (torch
 * never reads it with a momentum set). A fixture that has them is compared like any tensor.
 */
export const FIXTURE_OPTIONAL_BUFFERS: readonly string[] = ['num_batches_tracked'];

/**
 * Rebuild the reference's model from the fixture's config, load its initial state by PyTorch
 * name, run its steps (two views, optimizer step, EMA, queue) and compare every expected tensor
 * and every per-step loss. Reads with dataSync (cpu, wasm, node); see runParityAsync.
 */
export function runParity(fixture: ParityFixture, plugins: Plugin[]): ParityReport {
  return readsSync(parityReads(fixture, plugins));
}

/** runParity with asynchronous reads: every backend, and the only way on webgpu. */
export function runParityAsync(fixture: ParityFixture, plugins: Plugin[]): Promise<ParityReport> {
  return readsAsync(parityReads(fixture, plugins));
}

function* parityReads(fixture: ParityFixture, plugins: Plugin[]): HostReads<ParityReport> {
  const { spec } = fixture;
  const pipeline = createPipeline(fixtureToConfig(spec), { plugins, source: `${fixture.dir}/fixture.json` });
  const checks: ParityCheck[] = [];
  try {
    const { method, optimizer } = pipeline;
    method.train();
    importStateDict(method.stateEntries(), fixture.init, {
      source: `${fixture.dir}/init.safetensors`,
      optionalBuffers: FIXTURE_OPTIONAL_BUFFERS,
    });

    const targetCheck = targetNetworkMismatch(spec.ema !== null, method.momentumAt !== undefined);
    // Without the networks the fixture has, its steps cannot run: that check is the report.
    if (targetCheck) checks.push(targetCheck);
    else yield* runStepsAndCompare(fixture, method, optimizer, checks);
  } finally {
    pipeline.dispose();
  }
  const ratio = (c: ParityCheck) => (c.bound > 0 ? c.error / c.bound : c.error === 0 ? 0 : Infinity);
  const worst = checks.reduce((a, b) => (ratio(b) > ratio(a) ? b : a), checks[0]);
  return {
    fixture: fixture.dir,
    variant: spec.variant,
    backend: tf.getBackend(),
    ok: checks.length > 0 && checks.every((c) => c.ok),
    checks,
    worst,
  };
}

/** The fixture's steps on the loaded model: every per-step loss, step-0 tensor and final state. */
function* runStepsAndCompare(
  fixture: ParityFixture,
  method: Method,
  optimizer: Optimizer,
  checks: ParityCheck[],
): HostReads<void> {
  const { spec } = fixture;
  for (const [index, step] of spec.steps.entries()) {
    const t = step.step;
    // The method's own schedule, checked against the reference's momentum of each step.
    const m = spec.ema ? method.momentumAt?.(t, spec.ema.total_steps) : undefined;
    if (step.ema_momentum !== undefined) {
      const error = m === undefined ? Infinity : Math.abs(m - step.ema_momentum);
      checks.push({
        name: `step${t}.ema_momentum`,
        kind: 'momentum',
        error,
        bound: 1e-9,
        ok: error <= 1e-9,
      });
    }
    const v1 = viewOf(fixture, `step${t}.view1`);
    const v2 = viewOf(fixture, `step${t}.view2`);
    const r = lossAndGrads(method, v1, v2);
    try {
      // The loss and its terms in one read.
      const terms = (['loss_global', 'loss_aligned'] as const).filter((k) => step[k] !== undefined);
      const scalars = [r.loss, ...terms.flatMap((k) => r.terms[k] ?? [])];
      const values = yield scalars;
      checks.push(compareLoss(`step${t}.loss`, values[0][0], step.loss));
      let next = 1;
      for (const term of terms) {
        const actual = r.terms[term] ? values[next++][0] : 0;
        checks.push(compareLoss(`step${t}.${term}`, actual, step[term]!));
      }
      if (index === 0) {
        for (const [name, expected] of fixture.expected) {
          if (name.startsWith(`step${t}.`)) {
            const key = name.slice(`step${t}.`.length);
            const out = r.outputs[key];
            checks.push(
              out
                ? compareTensor(name, yield* outputInTorchLayout(key, out), expected)
                : { name, kind: 'tensor', error: Infinity, bound: 0, ok: false },
            );
          }
        }
        const byName = new Map(method.trainableParameters().map((e) => [e.name, e]));
        // Every parameter we train must be pinned by the fixture, not only those it lists.
        for (const name of byName.keys()) {
          if (!fixture.expected.has(`grad.${name}`)) checks.push(missingExpected(`grad.${name}`));
        }
        const pinned = [...fixture.expected].filter(([name]) => name.startsWith('grad.'));
        // Every gradient in one read: in the parameter's PyTorch layout, keyed by its name.
        const present = pinned.flatMap(([name]) => {
          const param = name.slice('grad.'.length);
          const entry = byName.get(param);
          const grad = r.grads.get(param);
          return entry && grad ? [{ ...entry, variable: grad as tf.Variable }] : [];
        });
        const grads = yield* exportStateDictReads(present);
        for (const [name, expected] of pinned) {
          const actual = grads.get(name.slice('grad.'.length));
          checks.push(
            actual
              ? compareTensor(name, actual, expected)
              : { name, kind: 'tensor', error: Infinity, bound: 0, ok: false },
          );
        }
      }
      const params = method
        .trainableParameters()
        .filter((p) => r.grads.has(p.name))
        .map((p) => ({ name: p.name, variable: p.variable, grad: r.grads.get(p.name)! }));
      optimizer.step(params, spec.optimizer.lr);
      method.afterOptimizerStep({ lr: spec.optimizer.lr, momentum: m });
    } finally {
      disposeLossAndGrads(r);
      v1.dispose();
      v2.dispose();
    }
  }

  const finalState = yield* exportStateDictReads(method.stateEntries());
  const optional = new Set(
    method
      .stateEntries()
      .filter((e) => e.kind === 'buffer' && FIXTURE_OPTIONAL_BUFFERS.includes(e.name.split('.').pop()!))
      .map((e) => e.name),
  );
  for (const name of finalState.keys()) {
    const pinned = fixture.expected.has(`final.${name}`);
    if (!pinned && !optional.has(name)) checks.push(missingExpected(`final.${name}`));
  }
  for (const [name, expected] of fixture.expected) {
    if (!name.startsWith('final.')) continue;
    const actual = finalState.get(name.slice('final.'.length));
    checks.push(
      actual
        ? compareTensor(name, actual, expected)
        : { name, kind: 'tensor', error: Infinity, bound: 0, ok: false },
    );
  }
}
