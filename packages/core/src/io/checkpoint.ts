import { Sha256 } from '../util/sha256';
import {
  parseSafetensorsHeader,
  parseSafetensorsWithMetadata,
  serializeSafetensors,
  tensorBytes,
  type SafetensorsTensor,
  type TensorData,
  type TensorsInput,
} from './safetensors';

/**
 * Training checkpoints: one safetensors file per step, `checkpoint-<step>.safetensors`. Its
 * `__metadata__` holds the step, the caller's meta as JSON and a SHA-256 over everything that
 * matters (format, step, meta, and each tensor's name, dtype, shape and bytes, in name order), so
 * a flipped bit or a truncated file is caught on load and the previous checkpoint is used instead.
 * The codec works on bytes; a CheckpointStorage says where the files live.
 */

/**
 * Where checkpoint files live: a folder in Node (@selfsup/node's FileCheckpointStorage), memory
 * in a browser page. `write` must be atomic: `list` never returns a half-written file.
 */
export interface CheckpointStorage {
  /** Shown in messages: the folder path, or a description. */
  readonly location: string;
  /** File names present (any order); [] when the location does not exist yet. */
  list(): Promise<string[]>;
  read(name: string): Promise<Uint8Array>;
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(name: string): Promise<void>;
  /** Full path of a name, for messages. */
  pathOf(name: string): string;
}

/** Checkpoints held in memory (browser pages, tests). */
export class MemoryCheckpointStorage implements CheckpointStorage {
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly location = 'memory') {}
  async list(): Promise<string[]> {
    return [...this.files.keys()];
  }
  async read(name: string): Promise<Uint8Array> {
    const f = this.files.get(name);
    if (!f) throw new Error(`${this.pathOf(name)}: no such checkpoint`);
    return f;
  }
  async write(name: string, bytes: Uint8Array): Promise<void> {
    this.files.set(name, bytes.slice());
  }
  async remove(name: string): Promise<void> {
    this.files.delete(name);
  }
  pathOf(name: string): string {
    return `${this.location}/${name}`;
  }
}

export const CHECKPOINT_FORMAT = 'selfsup-checkpoint-v1';
const KEY_FORMAT = 'selfsup.format';
const KEY_STEP = 'selfsup.step';
const KEY_META = 'selfsup.meta';
const KEY_SHA = 'selfsup.sha256';
const FILE_RE = /^checkpoint-(\d+)\.safetensors$/;

/** Whether a safetensors file's metadata says it is a selfsup training checkpoint (of any format version). */
export const isCheckpointMetadata = (metadata: Record<string, string>) => metadata[KEY_FORMAT] !== undefined;

export const checkpointFileName = (step: number) => `checkpoint-${String(step).padStart(8, '0')}.safetensors`;

export interface CheckpointPayload<Meta = unknown> {
  tensors: TensorsInput;
  /** Anything JSON.stringify accepts (optimizer settings, rng state, config, ...). */
  meta: Meta;
}

export interface CheckpointInfo {
  /** Full path (or storage location + name), for messages. */
  path: string;
  /** File name inside the storage. */
  name: string;
  step: number;
}

export interface LoadedCheckpoint<Meta = unknown> extends CheckpointInfo {
  tensors: Map<string, SafetensorsTensor>;
  meta: Meta;
}

export interface CheckpointerOptions {
  /** How many checkpoints to keep (by step); older ones are deleted after each successful save. Default 3. */
  keepLast?: number;
  /** Receives fallbacks and pruning problems. Default console.warn. */
  warn?: (message: string) => void;
}

const byName = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

function startDigest(step: number, metaJson: string): Sha256 {
  return new Sha256().update(`${JSON.stringify([CHECKPOINT_FORMAT, step, metaJson])}\n`);
}

const tensorLine = (name: string, dtype: string, shape: number[]) =>
  `${JSON.stringify([name, dtype, shape])}\n`;

/** Where a tensor first holds a NaN or an infinity, and how many such values it holds. */
export interface NonFiniteValues {
  tensor: string;
  index: number;
  value: number;
  count: number;
}

/**
 * The first tensor (in name order) holding NaN or +-Infinity. A checkpoint with one is unusable
 * however valid its checksum: training from it produces NaN losses, evaluating it NaN features.
 */
export function findNonFinite(
  tensors: Iterable<[string, { data: Float32Array }]>,
): NonFiniteValues | undefined {
  for (const [name, t] of [...tensors].sort(byName)) {
    const data = t.data;
    let first = -1;
    let count = 0;
    for (let i = 0; i < data.length; i++) {
      // x - x is 0 for every finite x and NaN for NaN and both infinities.
      if (data[i] - data[i] !== 0) {
        if (first < 0) first = i;
        count++;
      }
    }
    if (first >= 0) return { tensor: name, index: first, value: data[first], count };
  }
  return undefined;
}

export const describeNonFinite = (n: NonFiniteValues) =>
  `tensor ${n.tensor} holds ${n.value} at element ${n.index}` +
  (n.count > 1 ? ` (${n.count} non-finite values in all)` : '');

/** Checkpoint bytes: safetensors with the step, meta and checksum in its metadata. */
export function encodeCheckpoint<Meta>(step: number, payload: CheckpointPayload<Meta>): Uint8Array {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new Error(`checkpoint: step must be a non-negative integer, got ${step}`);
  let metaJson: string | undefined;
  try {
    metaJson = JSON.stringify(payload.meta);
  } catch (e) {
    throw new Error(
      `checkpointing step ${step} failed: meta is not JSON-serialisable (${(e as Error).message})`,
    );
  }
  if (metaJson === undefined)
    throw new Error(`checkpointing step ${step} failed: meta is not JSON-serialisable`);
  const entries: Array<[string, TensorData]> = (
    payload.tensors instanceof Map ? [...payload.tensors] : Object.entries(payload.tensors)
  ).sort(byName);
  // Written, it would be refused on load, and pruning would have deleted good checkpoints for it.
  const nonFinite = findNonFinite(entries);
  if (nonFinite)
    throw new Error(
      `checkpointing step ${step} refused: ${describeNonFinite(nonFinite)}; the existing checkpoints are kept`,
    );
  const hash = startDigest(step, metaJson);
  for (const [name, t] of entries) {
    const { dtype, bytes } = tensorBytes(name, t);
    hash.update(tensorLine(name, dtype, t.shape)).update(bytes);
  }
  return serializeSafetensors(new Map(entries), {
    [KEY_FORMAT]: CHECKPOINT_FORMAT,
    [KEY_STEP]: String(step),
    [KEY_META]: metaJson,
    [KEY_SHA]: hash.digest(),
  });
}

/** Parses and verifies checkpoint bytes; throws naming `path` if anything is wrong. */
export function decodeCheckpoint<Meta = unknown>(bytes: Uint8Array, path: string): LoadedCheckpoint<Meta> {
  const header = parseSafetensorsHeader(bytes, path);
  const md = header.metadata;
  const bad = (what: string): never => {
    throw new Error(`checkpoint ${path} is corrupt: ${what}`);
  };
  if (md[KEY_FORMAT] !== CHECKPOINT_FORMAT)
    bad(`metadata ${KEY_FORMAT} is ${JSON.stringify(md[KEY_FORMAT])}, expected "${CHECKPOINT_FORMAT}"`);
  const stepText = md[KEY_STEP];
  if (stepText === undefined || !/^\d+$/.test(stepText))
    bad(`metadata ${KEY_STEP} is ${JSON.stringify(stepText)}`);
  const step = Number(stepText);
  const metaJson = md[KEY_META];
  if (metaJson === undefined) bad(`metadata has no ${KEY_META}`);
  const hash = startDigest(step, metaJson);
  for (const [name, e] of [...header.entries].sort(byName)) {
    const [begin, end] = e.dataOffsets;
    hash
      .update(tensorLine(name, e.dtype, e.shape))
      .update(bytes.subarray(header.dataStart + begin, header.dataStart + end));
  }
  const digest = hash.digest();
  if (digest !== md[KEY_SHA])
    bad(`SHA-256 ${digest} does not match the stored ${JSON.stringify(md[KEY_SHA])}`);
  let meta: Meta;
  try {
    meta = JSON.parse(metaJson) as Meta;
  } catch (e) {
    return bad(`meta is not JSON (${(e as Error).message})`);
  }
  const { tensors } = parseSafetensorsWithMetadata(bytes, path);
  const nonFinite = findNonFinite(tensors);
  if (nonFinite) throw new Error(`checkpoint ${path} is unusable: ${describeNonFinite(nonFinite)}`);
  const name = path.split(/[\\/]/).pop() ?? path;
  return { path, name, step, tensors, meta };
}

export class Checkpointer<Meta = unknown> {
  readonly keepLast: number;
  private readonly warn: (message: string) => void;

  constructor(
    readonly storage: CheckpointStorage,
    options: CheckpointerOptions = {},
  ) {
    const keepLast = options.keepLast ?? 3;
    if (!Number.isInteger(keepLast) || keepLast < 1)
      throw new Error(`Checkpointer: keepLast must be a positive integer, got ${keepLast}`);
    this.keepLast = keepLast;
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  /** Where the checkpoints live (a folder path in Node). */
  get dir(): string {
    return this.storage.location;
  }

  pathFor(step: number): string {
    return this.storage.pathOf(checkpointFileName(step));
  }

  /** Finished checkpoints, oldest step first (temp files are ignored). */
  async list(): Promise<CheckpointInfo[]> {
    const out: CheckpointInfo[] = [];
    for (const name of await this.storage.list()) {
      const m = FILE_RE.exec(name);
      if (m) out.push({ path: this.storage.pathOf(name), name, step: Number(m[1]) });
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /**
   * Write the checkpoint of `step` atomically, then prune to the last `keepLast`. On failure the
   * existing checkpoints are untouched and the error says why.
   */
  async save(step: number, payload: CheckpointPayload<Meta>): Promise<string> {
    if (!Number.isSafeInteger(step) || step < 0)
      throw new Error(`Checkpointer.save: step must be a non-negative integer, got ${step}`);
    const name = checkpointFileName(step);
    const path = this.storage.pathOf(name);
    const bytes = encodeCheckpoint(step, payload);
    try {
      await this.storage.write(name, bytes);
    } catch (e) {
      const reason = (e as Error).message ?? String(e);
      throw new Error(`checkpointing step ${step} to ${path} failed: ${reason}`, { cause: e });
    }
    await this.prune(path);
    return path;
  }

  /** Delete all but the newest `keepLast` checkpoints (never the one just written). */
  private async prune(justWritten: string): Promise<void> {
    let all: CheckpointInfo[];
    try {
      all = await this.list();
    } catch (e) {
      this.warn(`checkpoint pruning in ${this.dir} skipped: ${(e as Error).message}`);
      return;
    }
    const keep = new Set(all.slice(-this.keepLast).map((c) => c.path));
    keep.add(justWritten);
    for (const c of all) {
      if (keep.has(c.path)) continue;
      try {
        await this.storage.remove(c.name);
      } catch (e) {
        this.warn(`could not delete old checkpoint ${c.path}: ${(e as Error).message}`);
      }
    }
  }

  /** Read one checkpoint by file name and verify it; throws naming the file if anything is wrong. */
  async load(name: string): Promise<LoadedCheckpoint<Meta>> {
    return decodeCheckpoint<Meta>(await this.storage.read(name), this.storage.pathOf(name));
  }

  /**
   * The newest checkpoint that verifies, or undefined if there is none. A bad newest file is
   * reported through `warn` and the previous one is tried; if every checkpoint is bad this throws
   * rather than silently starting over.
   */
  async loadLatest(): Promise<LoadedCheckpoint<Meta> | undefined> {
    const all = await this.list();
    const errors: string[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      try {
        return await this.load(all[i].name);
      } catch (e) {
        const msg = (e as Error).message;
        errors.push(msg);
        const next = i > 0 ? `falling back to ${all[i - 1].path}` : 'no older checkpoint to fall back to';
        this.warn(`skipping unusable checkpoint ${all[i].path} (${msg}); ${next}`);
      }
    }
    if (all.length > 0) throw new Error(`no usable checkpoint in ${this.dir}:\n\t${errors.join('\n\t')}`);
    return undefined;
  }
}
