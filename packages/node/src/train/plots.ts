import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { atomicWriteFile } from '../io/atomic-write';

export interface PlotPoint {
  x: number;
  y: number;
  /** Series name; one line per series. */
  series?: string;
}

export interface LinePlotOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  width?: number;
  height?: number;
  /** Log-scale y axis (positive values only). */
  logY?: boolean;
  /** Most points drawn per series (default: half the width, 2 px a point); longer series are bucket means. */
  maxPointsPerSeries?: number;
}

/**
 * Each series thinned to at most `max` points, each the mean x and y of a run of consecutive
 * points. A curve of 4000 steps in a 480 px chart shows no more than one of 240; rendering all
 * of them made every epoch's plots cost (time, and the JS heap and native memory that Vega and
 * librsvg keep afterwards) grow with the run's length.
 */
export function thinSeries(points: PlotPoint[], max: number): PlotPoint[] {
  if (!Number.isInteger(max) || max < 1)
    throw new Error(`thinSeries: max must be a positive integer, got ${max}`);
  const bySeries = new Map<string | undefined, PlotPoint[]>();
  for (const p of points) {
    const list = bySeries.get(p.series);
    if (list) list.push(p);
    else bySeries.set(p.series, [p]);
  }
  const out: PlotPoint[] = [];
  for (const [series, list] of bySeries) {
    if (list.length <= max) {
      out.push(...list);
      continue;
    }
    for (let b = 0; b < max; b++) {
      const from = Math.floor((b * list.length) / max);
      const to = Math.floor(((b + 1) * list.length) / max);
      let x = 0;
      let y = 0;
      for (let i = from; i < to; i++) {
        x += list[i].x;
        y += list[i].y;
      }
      const n = to - from;
      out.push(series === undefined ? { x: x / n, y: y / n } : { x: x / n, y: y / n, series });
    }
  }
  return out;
}

/** A Vega-Lite line chart of the points compiled to Vega and rendered headless to SVG (no canvas needed). */
export async function linePlotSvg(points: PlotPoint[], opts: LinePlotOptions): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const width = opts.width ?? 480;
  const finite = thinSeries(
    points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!opts.logY || p.y > 0)),
    opts.maxPointsPerSeries ?? Math.max(1, Math.floor(width / 2)),
  );
  const multi = new Set(finite.map((p) => p.series ?? '')).size > 1;
  const { spec } = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width,
    height: opts.height ?? 240,
    background: 'white',
    data: { values: finite.map((p) => ({ x: p.x, y: p.y, series: p.series ?? opts.yTitle })) },
    mark: { type: 'line', point: finite.length <= 30 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xTitle },
      y: {
        field: 'y',
        type: 'quantitative',
        title: opts.yTitle,
        scale: opts.logY ? { type: 'log' } : { zero: false },
      },
      ...(multi ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  });
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders the chart to a PNG file (written atomically, so a reader never sees half a plot). */
export async function writeLinePlot(file: string, points: PlotPoint[], opts: LinePlotOptions): Promise<void> {
  const svg = await linePlotSvg(points, opts);
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  await mkdir(dirname(file), { recursive: true });
  await atomicWriteFile(file, png);
}

export interface BarPoint {
  /** Bar group on the x axis (e.g. a sweep combination). */
  label: string;
  /** Bar within the group (one colour per series). */
  series: string;
  value: number;
  /** Half-length of a whisker drawn at value ± error (e.g. a standard deviation). */
  error?: number;
}

/** A Vega-Lite grouped bar chart with optional ± error whiskers, rendered headless to SVG. */
export async function barPlotSvg(bars: BarPoint[], opts: LinePlotOptions): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const values = bars
    .filter((b) => Number.isFinite(b.value))
    .map((b) => {
      const e = b.error !== undefined && Number.isFinite(b.error) ? b.error : 0;
      return { label: b.label, series: b.series, value: b.value, lo: b.value - e, hi: b.value + e };
    });
  const x = {
    field: 'label',
    type: 'nominal',
    title: opts.xTitle,
    sort: null,
    axis: { labelAngle: -30, labelLimit: 240 },
  };
  const { spec } = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width: opts.width ?? Math.max(240, 60 * new Set(values.map((v) => v.label)).size),
    height: opts.height ?? 240,
    background: 'white',
    data: { values },
    encoding: { x, xOffset: { field: 'series', type: 'nominal' } },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'value', type: 'quantitative', title: opts.yTitle },
          color: { field: 'series', type: 'nominal', title: null },
        },
      },
      {
        mark: { type: 'rule', color: 'black' },
        encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
      },
    ],
  } as never);
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Renders the bar chart to a PNG file, atomically. */
export async function writeBarPlot(file: string, bars: BarPoint[], opts: LinePlotOptions): Promise<void> {
  const svg = await barPlotSvg(bars, opts);
  const png = await sharp(Buffer.from(svg)).png().toBuffer();
  await mkdir(dirname(file), { recursive: true });
  await atomicWriteFile(file, png);
}
