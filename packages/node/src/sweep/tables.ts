import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeBarPlot, type BarPoint } from '../train/plots';
import type { CombinationSummary, RunResult, Stat, SweepResults } from './results';

export const RUNS_CSV = 'sweep.csv';
export const SUMMARY_CSV = 'sweep-summary.csv';
export const MARKDOWN = 'sweep.md';
export const PLOT = 'sweep.png';

const fixed = (v: number | undefined, digits = 2) => (v === undefined ? '' : v.toFixed(digits));
const signed = (v: number | undefined) => (v === undefined ? '' : `${v >= 0 ? '+' : ''}${v.toFixed(2)}`);

/** `mean ± std` (sample std over seeds), or the single value and "(1 seed)". */
function meanStd(s: Stat | undefined, digits = 2, sign = false): string {
  if (!s) return '';
  const mean = sign ? signed(s.mean) : s.mean.toFixed(digits);
  return s.std === undefined ? `${mean} (1 seed)` : `${mean} ± ${s.std.toFixed(digits)}`;
}

/** RFC 4180 field: quoted when it holds a comma, quote or newline. */
const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const csv = (rows: string[][]) => rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';

const mdRow = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
const markdown = (head: string[], rows: string[][]) =>
  [mdRow(head), mdRow(head.map(() => '---')), ...rows.map(mdRow)].join('\n');

const gainOf = (r: RunResult) =>
  r.knn !== undefined && r.knnUntrained !== undefined ? r.knn - r.knnUntrained : undefined;

export function runsCsv(res: SweepResults): string {
  const keys = res.grid.map((a) => a.key);
  const head = [
    'run',
    ...keys,
    'seed',
    'status',
    'epochs',
    'knn',
    'knn_untrained',
    'knn_pixels',
    'knn_gain',
    'linear',
    'last_loss',
    'peak_knn',
    'peak_epoch',
    'maps_lift',
  ];
  const rows = res.runs.map((r) => [
    r.name,
    ...keys.map((k) => r.combination[k] ?? ''),
    String(r.seed),
    r.status,
    String(r.epochs),
    fixed(r.knn),
    fixed(r.knnUntrained),
    fixed(r.knnPixels),
    fixed(gainOf(r)),
    fixed(r.linear),
    fixed(r.lastLoss, 4),
    fixed(r.peakKnn),
    r.peakEpoch === undefined ? '' : String(r.peakEpoch),
    fixed(r.mapsLift, 3),
  ]);
  return csv([head, ...rows]);
}

export function summaryCsv(res: SweepResults): string {
  const keys = res.grid.map((a) => a.key);
  const stats: Array<[string, (c: CombinationSummary) => Stat | undefined, number]> = [
    ['knn', (c) => c.knn, 2],
    ['knn_untrained', (c) => c.knnUntrained, 2],
    ['knn_pixels', (c) => c.knnPixels, 2],
    ['knn_gain', (c) => c.gain, 2],
    ['linear', (c) => c.linear, 2],
    ['last_loss', (c) => c.lastLoss, 4],
    ['maps_lift', (c) => c.mapsLift, 3],
  ];
  const head = [
    'combination',
    ...keys,
    'seeds',
    'done',
    ...stats.flatMap(([n]) => [`${n}_mean`, `${n}_std`]),
  ];
  const rows = res.combinations.map((c) => [
    c.name,
    ...keys.map((k) => c.combination[k] ?? ''),
    c.seeds.join(' '),
    String(c.done),
    ...stats.flatMap(([, get, d]) => [fixed(get(c)?.mean, d), fixed(get(c)?.std, d)]),
  ]);
  return csv([head, ...rows]);
}

/** The Markdown report: per combination (mean ± std over seeds), then per run. */
export function sweepMarkdown(res: SweepResults): string {
  const keys = res.grid.map((a) => a.key);
  const lift = res.runs.some((r) => r.mapsLift !== undefined);
  const comboHead = [
    ...(keys.length ? keys : ['combination']),
    'seeds done',
    'kNN %',
    'untrained kNN %',
    'raw-pixel kNN %',
    'kNN gain',
    'linear %',
    'last loss',
    ...(lift ? ['maps lift'] : []),
  ];
  const comboRows = res.combinations.map((c) => [
    ...(keys.length ? keys.map((k) => c.combination[k] ?? '') : [c.name]),
    `${c.done}/${c.seeds.length}`,
    meanStd(c.knn),
    meanStd(c.knnUntrained),
    meanStd(c.knnPixels),
    meanStd(c.gain, 2, true),
    meanStd(c.linear),
    meanStd(c.lastLoss, 4),
    ...(lift ? [meanStd(c.mapsLift, 3)] : []),
  ]);
  const runHead = [
    'run',
    'status',
    'epochs',
    'kNN %',
    'untrained',
    'raw pixels',
    'gain',
    'peak kNN (epoch)',
    'linear %',
    'last loss',
    ...(lift ? ['maps lift'] : []),
    'kNN per epoch',
    ...(lift ? ['maps lift per epoch'] : []),
  ];
  const curve = (c: Array<[number, number]>, digits: number) => c.map(([, v]) => v.toFixed(digits)).join(' ');
  const runRows = res.runs.map((r) => [
    r.name,
    r.status,
    String(r.epochs),
    fixed(r.knn),
    fixed(r.knnUntrained),
    fixed(r.knnPixels),
    signed(gainOf(r)),
    r.peakKnn === undefined ? '' : `${r.peakKnn.toFixed(2)} (${r.peakEpoch ?? '?'})`,
    fixed(r.linear),
    fixed(r.lastLoss, 4),
    ...(lift ? [fixed(r.mapsLift, 3)] : []),
    curve(r.knnCurve, 1),
    ...(lift ? [curve(r.liftCurve, 2)] : []),
  ]);
  const header = [
    `# Sweep ${res.dir}`,
    '',
    ...(res.config
      ? [`config: \`${res.config}\`${res.set.length ? `, --set ${res.set.join(' ')}` : ''}`]
      : []),
    ...(res.command ? [`command: \`${res.command}\``] : []),
    '',
  ];
  return [
    ...header,
    '## Per combination (mean ± sample std over finished seeds)',
    '',
    markdown(comboHead, comboRows),
    '',
    '## Per run',
    '',
    markdown(runHead, runRows),
    '',
  ].join('\n');
}

/** Bars of mean kNN (trained network, untrained network, raw pixels) and linear probe per combination, with ± std whiskers. */
export function sweepBars(res: SweepResults): BarPoint[] {
  const bars: BarPoint[] = [];
  for (const c of res.combinations) {
    if (c.knn) bars.push({ label: c.name, series: 'kNN', value: c.knn.mean, error: c.knn.std });
    if (c.knnUntrained) {
      const { mean, std } = c.knnUntrained;
      bars.push({ label: c.name, series: 'untrained kNN', value: mean, error: std });
    }
    if (c.knnPixels) {
      const { mean, std } = c.knnPixels;
      bars.push({ label: c.name, series: 'raw-pixel kNN', value: mean, error: std });
    }
    if (c.linear)
      bars.push({ label: c.name, series: 'linear probe', value: c.linear.mean, error: c.linear.std });
  }
  return bars;
}

/** Writes sweep.csv, sweep-summary.csv, sweep.md and (when a run has finished) sweep.png into the sweep directory. */
export async function writeSweepTables(res: SweepResults): Promise<{ markdown: string; files: string[] }> {
  await mkdir(res.dir, { recursive: true });
  const md = sweepMarkdown(res);
  const files = [join(res.dir, RUNS_CSV), join(res.dir, SUMMARY_CSV), join(res.dir, MARKDOWN)];
  await Promise.all([
    writeFile(files[0], runsCsv(res)),
    writeFile(files[1], summaryCsv(res)),
    writeFile(files[2], md),
  ]);
  const bars = sweepBars(res);
  if (bars.length > 0) {
    const plot = join(res.dir, PLOT);
    await writeBarPlot(plot, bars, {
      title: 'final top-1 per combination (mean ± std over seeds)',
      xTitle: 'combination',
      yTitle: 'top-1 %',
    });
    files.push(plot);
  }
  return { markdown: md, files };
}
