import { resolve } from 'node:path';
import type { DatasetRegistration } from '@selfsup/core';
import { resolveType } from '@selfsup/core';
import { evaluateAlignmentMaps, slotLifts } from '@selfsup/core';
import { writeMapGrid } from '../../eval/map-grid';
import { buildDatasets, evalTransform, openCheckpointSession } from '../session';

export interface MapsOptions {
  checkpoint: string;
  images?: string;
  config?: string;
  set?: string[];
  out?: string;
  backend?: string;
  plugin?: string[];
  json?: boolean;
}

/** PNG grids of every slot's alignment map over the images, and the map-mass-on-object score. */
export async function mapsCommand(opts: MapsOptions): Promise<number> {
  const session = await openCheckpointSession(opts);
  const { config, located } = session;
  try {
    const size = config.data.imageSize;
    const dataset = opts.images
      ? await resolveType<DatasetRegistration>(
          session.pipeline.container,
          'Dataset',
          'image_folder',
          '--images',
        ).create({
          path: opts.images,
          resize: size,
        })
      : await buildDatasets(session).then((s) => s.test ?? s.train);
    const outDir = resolve(opts.out ?? `${located.runDir}/maps`);
    const score = await evaluateAlignmentMaps(session.pipeline.method, dataset, {
      transform: evalTransform(size),
      drawFirstBatch: (images, maps) => writeMapGrid(images, maps, outDir),
    });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ checkpoint: located.file, ...score })}\n`);
      return 0;
    }
    process.stdout.write(`grid: ${score.grid ?? '(none)'}\n`);
    if (score.images > 0) {
      process.stdout.write(
        `map mass on object: ${(100 * score.massOnMask).toFixed(1)}% vs object area ${(100 * score.areaFraction).toFixed(1)}%` +
          ` (lift ${score.lift.toFixed(2)}x over a uniform map, ${score.images} images)\n`,
      );
      const lifts = slotLifts(score).sort((a, b) => a - b);
      const onObject = lifts.filter((l) => l >= 2).length;
      process.stdout.write(
        `slots: ${onObject} of ${lifts.length} at 2x or more on the object; lift per slot from ` +
          `${lifts[0].toFixed(2)}x to ${lifts[lifts.length - 1].toFixed(2)}x, median ${median(lifts).toFixed(2)}x\n`,
      );
    } else {
      process.stdout.write('no object masks in these images: grid only, no score\n');
    }
    return 0;
  } finally {
    session.pipeline.dispose();
  }
}

/** The median of sorted values. */
function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
