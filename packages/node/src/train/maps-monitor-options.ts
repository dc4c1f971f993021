import {
  makesAlignmentMaps,
  type Dataset,
  type MapsMonitorOptions,
  type Method,
  type SelfsupConfig,
} from '@selfsup/core';

/**
 * The maps monitor of a run from `train.mapsEvery`: unset means every epoch when the method
 * makes alignment maps and the held-out data has object masks, and off otherwise; 0 is off; a
 * positive N asks for it, so a method or dataset that cannot give it is an error.
 */
export async function mapsMonitorOptions(
  config: SelfsupConfig,
  method: Method,
  heldOut: Dataset | undefined,
  transform: MapsMonitorOptions['transform'],
): Promise<MapsMonitorOptions | undefined> {
  const every = config.train.mapsEvery;
  if (every === 0) return undefined;
  const makesMaps = makesAlignmentMaps(method);
  const hasMasks = heldOut !== undefined && heldOut.length > 0 && (await heldOut.get(0)).mask !== undefined;
  if (every === undefined) return makesMaps && hasMasks ? { dataset: heldOut!, transform } : undefined;
  if (!makesMaps) {
    throw new Error(
      `train.mapsEvery: got ${every}; method '${method.type}' with aggregator '${aggregatorType(config)}' makes no ` +
        'alignment maps (use aggregator: lewel, or set train.mapsEvery=0)',
    );
  }
  if (!hasMasks) {
    throw new Error(
      `train.mapsEvery: got ${every}; dataset '${config.data.dataset}' has no held-out images with object masks ` +
        '(the built-in cluttered dataset has them), set train.mapsEvery=0',
    );
  }
  return { dataset: heldOut!, everyEpochs: every, transform };
}

function aggregatorType(config: SelfsupConfig): string {
  const a = config.aggregator;
  return typeof a === 'string' ? a : a.type;
}
