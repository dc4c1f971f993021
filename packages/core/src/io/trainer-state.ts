import { tf } from '../tf';
import type { Method, Optimizer } from '../contracts';
import type { StateEntry } from '../nn/module';
import type { SafetensorsTensor, TensorData } from './safetensors';
import { CHECKPOINT_OPTIONAL_BUFFERS, exportStateDictReads, importStateDict } from './state-dict';
import { fromTorchData, toTorchData, torchShapeOf } from './torch-layout';
import { readsAsync, readsSync, type HostReads } from '../util/reads';

/**
 * The tensors of a training checkpoint: the method's whole state under `model.` (PyTorch names
 * and layouts) and the optimizer's buffers under `optimizer.`, each buffer shaped like its
 * parameter stored in that parameter's PyTorch layout too.
 */
export const MODEL_PREFIX = 'model';
export const OPTIM_PREFIX = 'optimizer';

function parameterLayouts(method: Method): Map<string, StateEntry> {
  return new Map(method.trainableParameters().map((e) => [e.name, e]));
}

/** The parameter an optimizer state key belongs to: the longest parameter name that prefixes it. */
function paramOf(key: string, params: Map<string, StateEntry>): StateEntry | undefined {
  const parts = key.split('.');
  for (let n = parts.length - 1; n >= 1; n--) {
    const p = params.get(parts.slice(0, n).join('.'));
    if (p) return p;
  }
  return undefined;
}

export interface TrainingTensors {
  tensors: Map<string, TensorData>;
  /** Optimizer keys stored in their parameter's PyTorch layout. */
  optimizerTorchLayout: string[];
}

/** The training tensors with dataSync reads (cpu, wasm, node); see exportTrainingTensorsAsync. */
export function exportTrainingTensors(method: Method, optimizer: Optimizer): TrainingTensors {
  return readsSync(exportTrainingTensorsReads(method, optimizer));
}

/** exportTrainingTensors with asynchronous reads, all in flight at once: every backend, webgpu included. */
export function exportTrainingTensorsAsync(method: Method, optimizer: Optimizer): Promise<TrainingTensors> {
  return readsAsync(exportTrainingTensorsReads(method, optimizer));
}

/**
 * exportTrainingTensors as host reads (util/reads.ts): the model in one read, then the optimizer's
 * buffers in another. The caller must not step the model until it returns.
 */
export function* exportTrainingTensorsReads(
  method: Method,
  optimizer: Optimizer,
): HostReads<TrainingTensors> {
  const tensors = yield* exportStateDictReads(method.stateEntries(), MODEL_PREFIX);
  const state = [...optimizer.stateTensors()];
  const values = yield state.map(([, t]) => t);
  const params = parameterLayouts(method);
  const optimizerTorchLayout: string[] = [];
  for (const [i, [key, t]] of state.entries()) {
    const p = paramOf(key, params);
    const k = `${OPTIM_PREFIX}.${key}`;
    const same =
      p && p.variable.shape.length === t.shape.length && p.variable.shape.every((d, i) => d === t.shape[i]);
    // Buffers shaped like their parameter are stored in its PyTorch layout, like the model.
    if (p && same) {
      tensors.set(k, toTorchData(values[i], t.shape, p.layout, k));
      optimizerTorchLayout.push(key);
    } else tensors.set(k, { shape: [...t.shape], data: Float32Array.from(values[i]) });
  }
  return { tensors, optimizerTorchLayout };
}

/** Loads what exportTrainingTensors wrote; `source` names the file in errors. */
export function importTrainingTensors(
  method: Method,
  optimizer: Optimizer,
  tensors: Map<string, SafetensorsTensor>,
  optimizerTorchLayout: string[],
  source: string,
): void {
  importStateDict(method.stateEntries(), tensors, {
    prefix: MODEL_PREFIX,
    source,
    optionalBuffers: CHECKPOINT_OPTIONAL_BUFFERS,
  });
  const params = parameterLayouts(method);
  const torchKeys = new Set(optimizerTorchLayout);
  const state = new Map<string, tf.Tensor>();
  try {
    for (const [k, t] of tensors) {
      if (!k.startsWith(`${OPTIM_PREFIX}.`)) continue;
      const key = k.slice(OPTIM_PREFIX.length + 1);
      const p = paramOf(key, params);
      let d: TensorData = t;
      if (torchKeys.has(key)) {
        if (!p)
          throw new Error(
            `cannot resume from ${source}: optimizer state '${key}' has no parameter in this method`,
          );
        const want = torchShapeOf(p.variable.shape, p.layout, key);
        if (want.join(',') !== t.shape.join(',')) {
          throw new Error(
            `cannot resume from ${source}: optimizer state '${key}' has shape [${t.shape}], expected [${want}]`,
          );
        }
        d = fromTorchData(t.data, t.shape, p.layout, key);
      }
      state.set(key, tf.tensor(d.data, d.shape));
    }
    optimizer.loadStateTensors(state);
  } finally {
    for (const t of state.values()) t.dispose();
  }
}
