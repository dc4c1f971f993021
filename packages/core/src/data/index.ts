export * from './image';
export * from './resize';
export * from './batch';
export * from './pipelines';
export * from './transforms/geometric';
export * from './transforms/color';
export * from './transforms/blur';
export * from './datasets/cluttered';
export * from './datasets/cifar';
export * from './datasets/idx';
export * from './datasets/imageFolder';
export { maybeGunzip } from './datasets/files';
export { supportsInPlace, type InPlaceTransform } from './scratch';
export {
  datasetRegistrations,
  transformRegistrations,
  viewPipelineRegistrations,
  transformRegistry,
} from './registrations';
