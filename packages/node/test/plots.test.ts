import { describe, expect, it } from 'vitest';
import { linePlotSvg, thinSeries, type PlotPoint } from '../src';

describe('line plots draw a bounded number of points', () => {
  it('thinSeries keeps a short series and replaces a long one by means of consecutive runs', () => {
    const short: PlotPoint[] = [
      { x: 1, y: 5 },
      { x: 2, y: 4 },
    ];
    expect(thinSeries(short, 2)).toEqual(short);
    const eight = Array.from({ length: 8 }, (_, i) => ({ x: i + 1, y: 10 * (i + 1) }));
    expect(thinSeries(eight, 4)).toEqual([
      { x: 1.5, y: 15 },
      { x: 3.5, y: 35 },
      { x: 5.5, y: 55 },
      { x: 7.5, y: 75 },
    ]);
    // 7 into 3: runs of 2, 2, 3 points; every point counts once.
    const seven = Array.from({ length: 7 }, (_, i) => ({ x: i, y: i }));
    expect(thinSeries(seven, 3)).toEqual([
      { x: 0.5, y: 0.5 },
      { x: 2.5, y: 2.5 },
      { x: 5, y: 5 },
    ]);
    expect(() => thinSeries(seven, 0)).toThrow('thinSeries: max must be a positive integer, got 0');
  });

  it('thins each series on its own, keeping series names', () => {
    const steps = Array.from({ length: 6 }, (_, i) => ({ x: i, y: i, series: 'step' }));
    const epochs = [{ x: 5, y: 3, series: 'epoch mean' }];
    expect(thinSeries([...steps, ...epochs], 2)).toEqual([
      { x: 1, y: 1, series: 'step' },
      { x: 4, y: 4, series: 'step' },
      { x: 5, y: 3, series: 'epoch mean' },
    ]);
  });

  it('a 4000-step curve is drawn as 240 points, whatever the run length (half the 480 px width)', async () => {
    const curve = Array.from({ length: 4000 }, (_, i) => ({
      x: i + 1,
      y: Math.exp(-i / 1000) + (i % 7) / 100,
    }));
    const opts = { title: 'training loss', xTitle: 'step', yTitle: 'loss' };
    const svg = await linePlotSvg(curve, opts);
    expect(svg).toBe(await linePlotSvg(thinSeries(curve, 240), opts));
    expect(svg).not.toBe(await linePlotSvg(thinSeries(curve, 241), opts));
  });
});
