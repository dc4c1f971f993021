import type { TrainingProgress } from '@selfsup/core';

/** Messages between the data-parallel coordinator (rank 0, main thread) and its worker threads. */

/** What a worker needs to build the same pipeline as rank 0; plain data (structured-clonable). */
export interface ReplicaSpec {
  /** The config rank 0 built its pipeline from (createPipeline input). */
  config: unknown;
  /** The run's user plugins (config `plugins:`, absolute file paths or package names); the installed official ones load anyway. */
  plugins: string[];
  /** The backend rank 0 runs (a name, never 'auto', so every rank computes alike). */
  backend: string;
  /** Backend threads per worker (wasm pthreads); the backend's default when absent. */
  threads?: number;
  /** Names the config in errors. */
  source?: string;
}

/** Makes one worker fail on purpose at one step, for the tests of the failure paths. */
export interface FaultInjection {
  kind: 'throw' | 'hang' | 'exit';
  rank: number;
  step: number;
}

export const FAULT_ENV = 'SELFSUP_DP_FAULT';

/** SELFSUP_DP_FAULT=kind:rank:step, e.g. hang:1:3. */
export function parseFault(value: string | undefined): FaultInjection | undefined {
  if (value === undefined || value === '') return undefined;
  const [kind, rank, step] = value.split(':');
  const r = Number(rank);
  const s = Number(step);
  if (!['throw', 'hang', 'exit'].includes(kind) || !Number.isInteger(r) || r < 1 || !Number.isInteger(s)) {
    throw new Error(`${FAULT_ENV}=${value}: expected throw|hang|exit:<worker rank >= 1>:<step>`);
  }
  return { kind: kind as FaultInjection['kind'], rank: r, step: s };
}

export interface InitMessage {
  type: 'init';
  rank: number;
  spec: ReplicaSpec;
  /** Gradients of the trainable parameters, written by this worker, in rank 0's parameter order. */
  grads: SharedArrayBuffer;
  fault?: FaultInjection;
}

export interface EntryInfo {
  name: string;
  shape: number[];
}

export interface ReadyMessage {
  type: 'ready';
  entries: EntryInfo[];
  params: string[];
}

export interface StepMessage {
  type: 'step';
  step: number;
  /** Where the step is in its run (a scheduled loss weight), as the trainer gave it. */
  progress?: TrainingProgress;
  /** Every state entry (parameters and buffers) of rank 0, concatenated in entry order. */
  state: SharedArrayBuffer;
  /** Both views of the whole batch: view 1 then view 2, NHWC. */
  views: SharedArrayBuffer;
  batchShape: [number, number, number, number];
  /** This worker's rows of the batch. */
  start: number;
  count: number;
  training: boolean;
  extra?: Record<string, unknown>;
}

export interface PendingTensor {
  shape: number[];
  data: Float32Array;
}

export interface DoneMessage {
  type: 'done';
  step: number;
  loss: number;
  terms: Record<string, number>;
  /** Per trainable parameter: did the loss reach it (else its gradient slot is not written). */
  present: boolean[];
  pending?: Record<string, PendingTensor>;
}

export interface ErrorMessage {
  type: 'error';
  step?: number;
  message: string;
  stack?: string;
}

export type ToWorker = InitMessage | StepMessage;
export type FromWorker = ReadyMessage | DoneMessage | ErrorMessage;

export const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
