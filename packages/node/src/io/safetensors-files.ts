import { readFile } from 'node:fs/promises';
import {
  parseSafetensors,
  parseSafetensorsWithMetadata,
  serializeSafetensors,
  type SafetensorsTensor,
  type TensorsInput,
} from '@selfsup/core';
import { atomicWriteFile } from './atomic-write';

export async function readSafetensors(path: string): Promise<Map<string, SafetensorsTensor>> {
  return parseSafetensors(await readFile(path), path);
}

export async function readSafetensorsWithMetadata(
  path: string,
): Promise<{ tensors: Map<string, SafetensorsTensor>; metadata: Record<string, string> }> {
  return parseSafetensorsWithMetadata(await readFile(path), path);
}

/** Write a safetensors file atomically (temp file, fsync, rename), so readers never see half a file. */
export async function writeSafetensors(
  path: string,
  tensors: TensorsInput,
  metadata?: Record<string, string>,
): Promise<void> {
  await atomicWriteFile(path, serializeSafetensors(tensors, metadata));
}
