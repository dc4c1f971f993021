import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Checkpointer,
  decodeCheckpoint,
  initFromStateDict,
  isCheckpointMetadata,
  parseSafetensorsHeader,
  parseSafetensorsWithMetadata,
  type Method,
  type TensorData,
} from '@selfsup/core';
import { FileCheckpointStorage } from '../io/file-checkpoint-storage';

/** Where a selfsup checkpoint keeps the online network (its `model.` state, then `online.`). */
export const CHECKPOINT_ONLINE_PREFIX = 'model.online';

/** FILE[:prefix]; a path that exists as given wins, so a ':' inside a file name still works. */
export function parseInitFrom(spec: string): { file: string; prefix?: string } {
  if (existsSync(spec)) return { file: spec };
  const at = spec.lastIndexOf(':');
  const file = at > 0 ? spec.slice(0, at) : spec;
  if (!existsSync(file)) throw new Error(`--init-from ${spec}: no such file or folder '${file}'`);
  return { file, prefix: spec.slice(at + 1) };
}

async function readWeights(
  file: string,
): Promise<{ tensors: Map<string, TensorData>; source: string; checkpoint: boolean }> {
  if (statSync(file).isDirectory()) {
    const dir = existsSync(join(file, 'checkpoints')) ? join(file, 'checkpoints') : file;
    const latest = await new Checkpointer(new FileCheckpointStorage(dir)).loadLatest();
    if (!latest) throw new Error(`--init-from ${file}: no checkpoint in ${dir}`);
    return { tensors: latest.tensors, source: latest.path, checkpoint: true };
  }
  const bytes = await readFile(file);
  if (isCheckpointMetadata(parseSafetensorsHeader(bytes, file).metadata))
    return { tensors: decodeCheckpoint(bytes, file).tensors, source: file, checkpoint: true };
  return { tensors: parseSafetensorsWithMetadata(bytes, file).tensors, source: file, checkpoint: false };
}

/**
 * `train --init-from FILE[:prefix]`: loads a torchvision-named backbone file, or a selfsup
 * checkpoint's online network (default prefix model.online), into the method before training.
 * Returns the line the CLI logs.
 */
export async function initFromFile(method: Method, spec: string): Promise<string> {
  const { file, prefix } = parseInitFrom(spec);
  const weights = await readWeights(file);
  const chosen = prefix ?? (weights.checkpoint ? CHECKPOINT_ONLINE_PREFIX : '');
  let r: ReturnType<typeof initFromStateDict>;
  try {
    r = initFromStateDict(method, weights.tensors, { prefix: chosen, source: weights.source });
  } catch (err) {
    let message = (err as Error).message;
    if (/Unexpected key\(s\)[^\n]*"(?:[\w.]+\.)?fc\.weight"/.test(message))
      message +=
        "\n\t(fc.* is torchvision's classifier: save the model after m.fc = torch.nn.Identity(), or without fc.* keys)";
    throw new Error(`--init-from ${spec}: ${message}`, { cause: err });
  }
  const what = r.into === 'backbone' ? 'the backbone' : 'the online network (backbone and heads)';
  const kept = r.kept.length ? `; kept ${r.kept.length} buffer(s) the file lacks (${r.kept[0]}, ...)` : '';
  return `init: ${what} from ${weights.source}${chosen ? ` (prefix '${chosen}')` : ''}: ${r.loaded} tensors${kept}${r.targetCopied ? '; the target network starts as a copy' : ''}`;
}
