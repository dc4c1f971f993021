export { Module } from './module';
export type { StateEntry, TorchLayout } from './module';
export { Conv2d, BatchNorm, Linear, ReLU, MaxPool2d, Sequential, globalAvgPool } from './layers';
export type { Layer } from './layers';
export { TokenwiseMLP } from './heads';
export type { TokenwiseMLPOptions } from './heads';
export { ResNet, RESNET_PRESETS, resnetWidths } from './resnet';
export type { ResNetOptions, ResNetStem, BlockKind } from './resnet';
export { kaimingNormalFanOut, torchDefaultUniform } from './init';
