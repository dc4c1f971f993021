/**
 * The page's data, built from the config by core's buildDataSplits, the function `selfsup
 * train` and `selfsup eval` use, so the kNN the page shows is the kNN `selfsup eval knn` gives
 * for its checkpoint. What the page adds: the user's folder, decoded in the page, and a clear
 * refusal of datasets that read files.
 */
import {
  buildDataSplits,
  holdOutSplits,
  resolveDataset,
  type DataSplits,
  type Dataset,
  type Pipeline,
  type SelfsupConfig,
} from '@selfsup/core';

export { buildViews, displayTransform, evalTransform, HOLD_OUT_EVERY } from '@selfsup/core';

export type PageSplits = DataSplits;

/**
 * Train and held-out data of the config: a registered dataset (the built-in `cluttered`) made
 * with the keys its schema knows, or the user's folder, already decoded in the page.
 */
export async function buildSplits(
  config: SelfsupConfig,
  pipeline: Pipeline,
  folder?: Dataset,
): Promise<PageSplits> {
  const d = config.data;
  if (folder) {
    if (folder.length === 0) throw new Error(`data: the folder '${d.path}' has no images`);
    return holdOutSplits(folder);
  }
  if (resolveDataset(config, pipeline).keys.has('path')) {
    throw new Error(`data.dataset: '${d.dataset}' reads files; in the page, pick a folder of images instead`);
  }
  return buildDataSplits(config, pipeline);
}
