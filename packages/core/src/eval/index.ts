export {
  allIndices,
  backboneFeatures,
  extractFeatures,
  extractMemoryAndQuery,
  imagesToTensor,
  inEvalMode,
  sampleBatches,
} from './features';
export type { ExtractOptions, FeatureSet } from './features';
export { extractPixelFeatures, extractPixelMemoryAndQuery } from './pixels';
export { knnAccuracy, knnAccuracyAsync, knnPredict, knnPredictAsync, top1Percent, vote } from './knn';
export type { KnnOptions } from './knn';
export {
  initLinear,
  linearProbe,
  linearProbeAsync,
  makeProbeOptimizer,
  predictLinear,
  softmaxCrossEntropy,
} from './linear';
export type { LinearProbeOptions, LinearProbeResult, ProbeOptimizerOptions } from './linear';
export { balancedSubset, semiSupervised } from './semi';
export type { SemiOptions, SemiResult } from './semi';
export {
  confusionMatrix,
  linearResizeMatrix,
  meanIoU,
  resizeBilinearDifferentiable,
  segmentationProbe,
} from './seg';
export type { SegProbeOptions, SegProbeResult } from './seg';
export { evaluateAlignmentMaps, mapMassScore, maskCoverage, slotLifts, toMapsData } from './maps';
export type { EvaluateMapsOptions, MapMassScore, MapsData, ObjectMask } from './maps';
