export * from './image';
export * from './resize';
export * from './batch';
export * from './pipelines';
export * from './transforms/geometric';
export * from './transforms/color';
export * from './transforms/blur';
export * from './datasets/cluttered';
export { supportsInPlace, type InPlaceTransform } from './scratch';
export {
  datasetRegistrations,
  datasetSplitSchema,
  imageSizeSchema,
  transformRegistrations,
  viewPipelineRegistrations,
  transformRegistry,
} from './registrations';
export {
  HOLD_OUT_EVERY,
  DatasetSubset,
  buildDataSplits,
  buildViews,
  datasetOptions,
  displayTransform,
  evalTransform,
  holdOutSplits,
  resolveDataset,
  type DataSplits,
} from './splits';
