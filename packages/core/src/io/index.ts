export {
  MAX_HEADER_BYTES,
  parseSafetensors,
  parseSafetensorsHeader,
  parseSafetensorsWithMetadata,
  serializeSafetensors,
  tensorBytes,
} from './safetensors';
export type {
  SafetensorsDtype,
  SafetensorsHeader,
  SafetensorsHeaderEntry,
  SafetensorsTensor,
  TensorData,
  TensorsInput,
  WritableDtype,
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
export {
  exportStateDict,
  exportStateDictAsync,
  exportStateDictReads,
  importStateDict,
  CHECKPOINT_OPTIONAL_BUFFERS,
} from './state-dict';
export type { ImportStateDictOptions, ImportStateDictResult } from './state-dict';
export {
  CHECKPOINT_FORMAT,
  Checkpointer,
  MemoryCheckpointStorage,
  checkpointFileName,
  decodeCheckpoint,
  describeNonFinite,
  encodeCheckpoint,
  findNonFinite,
  isCheckpointMetadata,
} from './checkpoint';
export type {
  CheckpointerOptions,
  CheckpointInfo,
  CheckpointPayload,
  CheckpointStorage,
  LoadedCheckpoint,
  NonFiniteValues,
} from './checkpoint';
export {
  exportTrainingTensors,
  exportTrainingTensorsAsync,
  exportTrainingTensorsReads,
  importTrainingTensors,
  MODEL_PREFIX,
  OPTIM_PREFIX,
} from './trainer-state';
export type { TrainingTensors } from './trainer-state';
export { initFromStateDict } from './init-from';
export type { InitFromOptions, InitFromResult } from './init-from';
