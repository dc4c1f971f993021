/**
 * The page's URL parameters, for links and automated checks:
 * `?autorun=1&steps=N&backend=B&method=M` trains N steps and writes the result JSON into #result;
 * `mapsEvery`, `threads`, `epochs` and repeated `set=key.path=value` (as `selfsup train --set`)
 * change the run. Errors name the parameter.
 */
import { isPageMethod, PAGE_METHODS, type PageMethod } from './methods';

export interface UrlSettings {
  autorun: boolean;
  method?: PageMethod;
  backend?: string;
  steps?: number;
  epochs?: number;
  threads?: number;
  mapsEvery?: number;
  overrides: string[];
}

function positiveInt(params: URLSearchParams, key: string): number | undefined {
  const raw = params.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`URL parameter ${key}=${raw}: expected a positive integer`);
  return n;
}

export function parseUrlSettings(search: string): UrlSettings {
  const params = new URLSearchParams(search);
  const method = params.get('method') ?? undefined;
  if (method !== undefined && !isPageMethod(method)) {
    throw new Error(
      `URL parameter method=${method}: expected one of ${Object.keys(PAGE_METHODS).join(', ')}`,
    );
  }
  return {
    autorun: params.get('autorun') === '1',
    method,
    backend: params.get('backend') ?? undefined,
    steps: positiveInt(params, 'steps'),
    epochs: positiveInt(params, 'epochs'),
    threads: positiveInt(params, 'threads'),
    mapsEvery: positiveInt(params, 'mapsEvery'),
    overrides: params.getAll('set'),
  };
}

/** What `?autorun=1` writes into #result when the run ends. */
export interface AutorunResult {
  backend: string;
  method: string;
  steps: number;
  lossFirst: number;
  lossLast: number;
  mapsDrawn: number;
  imgsPerS: number;
}
