export {
  MAX_HEADER_BYTES,
  parseSafetensors,
  parseSafetensorsHeader,
  parseSafetensorsWithMetadata,
  readSafetensors,
  readSafetensorsWithMetadata,
  serializeSafetensors,
  writeSafetensors,
} from './safetensors';
export type {
  SafetensorsDtype,
  SafetensorsHeader,
  SafetensorsHeaderEntry,
  SafetensorsTensor,
  TensorData,
  TensorsInput,
} from './safetensors';
export {
  fromTorchData,
  fromTorchLayout,
  permute,
  tfShapeOf,
  toTorchData,
  toTorchLayout,
  torchShapeOf,
} from './torch-layout';
export { exportStateDict, exportStateDictAsync, exportStateDictReads, importStateDict } from './state-dict';
export type { ImportStateDictOptions, ImportStateDictResult } from './state-dict';
export { atomicWriteFile, defaultAtomicWriteOps } from './atomic-write';
export type { AtomicWriteOps } from './atomic-write';
export { CHECKPOINT_FORMAT, Checkpointer, checkpointFileName } from './checkpoint';
export type { CheckpointerOptions, CheckpointInfo, CheckpointPayload, LoadedCheckpoint } from './checkpoint';
