export { Module } from './module';
export type { StateEntry, TorchDtype, TorchLayout } from './module';
export { Conv2d, BatchNorm, Linear, ReLU, MaxPool2d, Sequential, globalAvgPool } from './layers';
export type { Layer, BatchNormOptions } from './layers';
export { TokenwiseMLP } from './heads';
export type { TokenwiseMLPOptions } from './heads';
export { ResNet, RESNET_PRESETS, resnetWidths } from './resnet';
export type { ResNetOptions, ResNetStem, BlockKind } from './resnet';
export { kaimingNormalFanOut, torchDefaultUniform } from './init';
export {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  L2_NORMALIZE,
  L2_NORMALIZE_GRAD,
  backendHasKernel,
  batchNormChannels,
} from './kernels';
export { normalizeL2, stopGradient } from './functional';
