/** Messages between the page (main thread) and its training worker. */
import type { EpochMetrics } from '@selfsup/core';
import type { MapsFrame, RunBegin } from './hooks';
import type { RunSettings } from './run-config';

/** One picked file of the user's folder, with its path inside the pick. */
export interface FolderFile {
  path: string;
  file: Blob;
}

export type ToWorker =
  /** List the backends and whether each can run here. */
  | { type: 'hello' }
  /** A new run (any running one stops); continue from `checkpoint` when given. */
  | {
      type: 'start';
      settings: RunSettings;
      folder?: FolderFile[];
      checkpoint?: { name: string; bytes: Uint8Array };
    }
  | { type: 'pause' }
  | { type: 'resume' }
  /** The checkpoint of the current step. */
  | { type: 'checkpoint' }
  /** Run the PyTorch parity fixtures at these URLs (folders with fixture.json and the three .safetensors). */
  | { type: 'parity'; fixtures: string[]; backend: string };

export interface BackendStatus {
  name: string;
  /** Registered in this build. */
  installed: boolean;
  available: boolean;
  /** Why not, when not available. */
  reason?: string;
  version?: string;
}

export interface RunInfo {
  backend: string;
  /** Why this backend, and how it runs (build, threads). */
  backendDetail: string;
  method: string;
  dataset: string;
  trainImages: number;
  testImages: number;
  imageSize: number;
  batchSize: number;
  totalSteps: number;
  stepsPerEpoch: number;
  /** The shown images (un-normalised RGB, HWC), when the method makes maps. */
  mapImages: { height: number; width: number; data: Float32Array }[];
  hasMaps: boolean;
  knn: boolean;
  /** The run folder's config.yaml (what `selfsup train --resume` takes with the checkpoint). */
  configYaml: string;
}

export interface ParityResult {
  fixture: string;
  variant: string;
  backend: string;
  ok: boolean;
  failed: string[];
  worst: { name: string; error: number; bound: number };
}

export type FromWorker =
  | { type: 'backends'; backends: BackendStatus[]; crossOriginIsolated: boolean }
  | { type: 'log'; line: string }
  | { type: 'started'; info: RunInfo }
  /** Training begins (after a continued checkpoint was restored). */
  | { type: 'begin'; state: RunBegin }
  | { type: 'step'; step: number; epoch: number; loss: number; lr: number; imgsPerS: number }
  | { type: 'maps'; frame: MapsFrame }
  | { type: 'epoch'; metrics: EpochMetrics }
  | { type: 'paused'; step: number }
  | { type: 'resumed' }
  | { type: 'done'; steps: number; stopped: boolean }
  | { type: 'checkpoint'; name: string; bytes: Uint8Array; step: number }
  | { type: 'parity'; results: ParityResult[] }
  | { type: 'error'; message: string };
