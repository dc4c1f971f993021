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
}

/** A Vega-Lite line chart of the points compiled to Vega and rendered headless to SVG (no canvas needed). */
export async function linePlotSvg(points: PlotPoint[], opts: LinePlotOptions): Promise<string> {
  const [{ compile }, vega] = await Promise.all([import('vega-lite'), import('vega')]);
  const finite = points.filter(
    (p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!opts.logY || p.y > 0),
  );
  const multi = new Set(finite.map((p) => p.series ?? '')).size > 1;
  const { spec } = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: opts.title,
    width: opts.width ?? 480,
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
