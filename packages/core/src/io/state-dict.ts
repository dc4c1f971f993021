import { tf } from '../tf';
import type { StateEntry } from '../nn/module';
import type { TensorData } from './safetensors';
import { readsAsync, readsSync, type HostReads } from '../util/reads';
import { fromTorchData, toTorchData, torchShapeOf } from './torch-layout';

/**
 * State dicts keyed by PyTorch names, values in PyTorch layouts, so a checkpoint reads the same
 * in both worlds. With a prefix P, entry `n` is stored as `P.n` (as torch's `module.state_dict(prefix)`).
 */

const normPrefix = (prefix: string | undefined) => (prefix ?? '').replace(/\.+$/, '');
const keyOf = (prefix: string, name: string) =>
  prefix === '' ? name : name === '' ? prefix : `${prefix}.${name}`;
const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Every entry's value in PyTorch layout, keyed `prefix.name`, in entry order (dataSync reads). */
export function exportStateDict(entries: StateEntry[], prefix?: string): Map<string, TensorData> {
  return readsSync(exportStateDictReads(entries, prefix));
}

/** exportStateDict with asynchronous reads, all in flight at once: every backend, webgpu included. */
export function exportStateDictAsync(
  entries: StateEntry[],
  prefix?: string,
): Promise<Map<string, TensorData>> {
  return readsAsync(exportStateDictReads(entries, prefix));
}

/** exportStateDict as host reads (util/reads.ts), to compose into a larger computation. */
export function* exportStateDictReads(
  entries: StateEntry[],
  prefix?: string,
): HostReads<Map<string, TensorData>> {
  const p = normPrefix(prefix);
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const e of entries) {
    const key = keyOf(p, e.name);
    if (seen.has(key)) throw new Error(`exportStateDict: duplicate name '${key}'`);
    seen.add(key);
    keys.push(key);
  }
  const values = yield entries.map((e) => e.variable);
  const out = new Map<string, TensorData>();
  entries.forEach((e, i) => {
    const t = toTorchData(values[i], e.variable.shape, e.layout, keys[i]);
    out.set(keys[i], e.torchDtype === 'int64' ? { ...t, fileDtype: 'I64' } : t);
  });
  return out;
}

export interface ImportStateDictOptions {
  /** Missing or unexpected names are errors (default true). Shape mismatches always are, as in torch. */
  strict?: boolean;
  /** Only keys under this prefix are considered; entry `n` reads key `prefix.n`. */
  prefix?: string;
  /** Named in the error message, e.g. the checkpoint's path. */
  source?: string;
  /**
   * Buffer names (the last part of a key, e.g. 'num_batches_tracked') that strict mode lets be
   * absent: the entry keeps its value. For sources written before the buffer existed (selfsup
   * checkpoints and parity fixtures older than num_batches_tracked); a torchvision round trip
   * leaves this empty so that every key is checked.
   */
  optionalBuffers?: readonly string[];
}

/** Buffers older selfsup checkpoints lack: loading them keeps these at their initial value. */
export const CHECKPOINT_OPTIONAL_BUFFERS: readonly string[] = ['num_batches_tracked'];

export interface ImportStateDictResult {
  missing: string[];
  unexpected: string[];
}

/**
 * Assign PyTorch-layout tensors to the entries' variables. Everything is checked before anything is
 * assigned, and all problems are reported in one error (like torch's load_state_dict), so a failed
 * load leaves the model untouched.
 */
export function importStateDict(
  entries: StateEntry[],
  tensors: Map<string, TensorData>,
  options: ImportStateDictOptions = {},
): ImportStateDictResult {
  const strict = options.strict ?? true;
  const p = normPrefix(options.prefix);
  const expected = new Map<string, StateEntry>();
  for (const e of entries) expected.set(keyOf(p, e.name), e);

  const inScope = (k: string) => p === '' || k === p || k.startsWith(`${p}.`);
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  const optional = new Set(options.optionalBuffers ?? []);
  const tolerated = (k: string) => {
    const e = expected.get(k)!;
    return e.kind === 'buffer' && optional.has(e.name.slice(e.name.lastIndexOf('.') + 1));
  };
  const missingRequired = missing.filter((k) => !tolerated(k));
  const unexpected = [...tensors.keys()].filter((k) => inScope(k) && !expected.has(k));
  const mismatched: string[] = [];
  const plan: Array<[StateEntry, TensorData, string]> = [];
  for (const [key, e] of expected) {
    const t = tensors.get(key);
    if (t === undefined) continue;
    const want = torchShapeOf(e.variable.shape, e.layout, key);
    const numel = t.shape.reduce((a, d) => a * d, 1);
    if (!sameShape(want, t.shape))
      mismatched.push(
        `size mismatch for ${key}: copying a param with shape ${fmt(t.shape)} from checkpoint, ` +
          `the shape in current model is ${fmt(want)}.`,
      );
    else if (t.data.length !== numel)
      mismatched.push(
        `bad tensor ${key}: ${t.data.length} values for shape ${fmt(t.shape)} (${numel} values).`,
      );
    else plan.push([e, t, key]);
  }

  const problems: string[] = [];
  if (strict && missingRequired.length > 0)
    problems.push(`Missing key(s) in state_dict: ${missingRequired.map((k) => `"${k}"`).join(', ')}.`);
  if (strict && unexpected.length > 0)
    problems.push(`Unexpected key(s) in state_dict: ${unexpected.map((k) => `"${k}"`).join(', ')}.`);
  problems.push(...mismatched);
  if (problems.length > 0) {
    const from = options.source === undefined ? '' : ` from ${options.source}`;
    throw new Error(`Error(s) in loading state_dict${from}:\n\t${problems.join('\n\t')}`);
  }

  for (const [e, t, key] of plan) {
    const v = fromTorchData(t.data, t.shape, e.layout, key);
    tf.tidy(() => {
      // Buffers may be int32 (e.g. step counters); values arrive as float32 from the file.
      const value = tf.tensor(v.data, v.shape, 'float32');
      e.variable.assign(e.variable.dtype === 'float32' ? value : tf.cast(value, e.variable.dtype));
    });
  }
  return { missing, unexpected };
}
