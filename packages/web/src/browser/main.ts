/**
 * The page: controls, live numbers, the loss curve, the alignment maps and the kNN table. It
 * only draws; the training worker (worker.ts) does the work. `?autorun=1&...` (url-settings.ts)
 * starts a run at once and writes its result JSON into #result.
 */
import type { EpochMetrics } from '@selfsup/core';
import type { BackendStatus, FolderFile, FromWorker, RunInfo, ToWorker } from '../protocol';
import { PAGE_METHODS, type PageMethod } from '../methods';
import type { RunSettings } from '../run-config';
import { parseUrlSettings, type AutorunResult, type UrlSettings } from '../url-settings';
import { LossChart } from './ui/loss-chart';
import { MapsView } from './ui/maps-view';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};

const DEFAULT_MAPS_EVERY = 10;

/** What the page knows of the run; also `window.selfsupPage` for automated checks. */
const page = {
  state: 'idle' as 'idle' | 'running' | 'paused' | 'done' | 'error',
  backends: [] as BackendStatus[],
  info: undefined as RunInfo | undefined,
  losses: [] as number[],
  epochs: [] as EpochMetrics[],
  step: 0,
  imgsPerS: 0,
  mapsDrawn: 0,
  errors: [] as string[],
  /** A start was sent and its 'started' has not come: messages of the run it replaces are dropped. */
  awaitingStart: false,
};
(window as unknown as { selfsupPage: typeof page }).selfsupPage = page;

const worker = new Worker(new URL('worker.js', location.href));
const send = (message: ToWorker, transfer: Transferable[] = []) => worker.postMessage(message, transfer);

const controls = {
  method: $<HTMLSelectElement>('method'),
  backend: $<HTMLSelectElement>('backend'),
  data: $<HTMLSelectElement>('data'),
  folder: $<HTMLInputElement>('folder'),
  epochs: $<HTMLInputElement>('epochs'),
  start: $<HTMLButtonElement>('start'),
  pause: $<HTMLButtonElement>('pause'),
  download: $<HTMLButtonElement>('download'),
  downloadConfig: $<HTMLAnchorElement>('download-config'),
  load: $<HTMLInputElement>('load'),
};
const chart = new LossChart($<HTMLCanvasElement>('loss-chart'));
let mapsView: MapsView | undefined;

function log(line: string, isError = false): void {
  const el = $('log');
  const div = document.createElement('div');
  div.textContent = line;
  if (isError) div.className = 'error';
  el.append(div);
  el.scrollTop = el.scrollHeight;
}

function setState(state: typeof page.state): void {
  page.state = state;
  document.body.dataset.state = state;
  const active = state === 'running' || state === 'paused';
  controls.pause.disabled = !active;
  controls.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
  controls.download.disabled = page.info === undefined;
  controls.start.textContent = active ? 'Restart' : 'Start';
}

let url: UrlSettings = { autorun: false, overrides: [] };
try {
  url = parseUrlSettings(location.search);
} catch (err) {
  fail((err as Error).message);
}

for (const [value, label] of Object.entries(PAGE_METHODS)) controls.method.add(new Option(label, value));
if (url.method) controls.method.value = url.method;
controls.epochs.placeholder = 'recipe';
if (url.epochs) controls.epochs.value = String(url.epochs);

function settings(): RunSettings {
  const epochs = controls.epochs.value === '' ? undefined : Number(controls.epochs.value);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1)) {
    throw new Error(`epochs: expected a positive integer, got ${controls.epochs.value}`);
  }
  const files = controls.folder.files;
  const folderName = files?.[0]?.webkitRelativePath.split('/')[0];
  if (controls.data.value === 'folder' && !folderName) throw new Error('data: pick a folder of images first');
  return {
    method: controls.method.value as PageMethod,
    backend: controls.backend.value || url.backend || 'auto',
    threads: url.threads,
    steps: url.steps,
    epochs,
    mapsEvery: url.mapsEvery ?? DEFAULT_MAPS_EVERY,
    overrides: url.overrides,
    data: controls.data.value === 'folder' ? { kind: 'folder', name: folderName! } : { kind: 'cluttered' },
  };
}

function folderFiles(): FolderFile[] | undefined {
  const files = controls.folder.files;
  if (!files || files.length === 0) return undefined;
  return Array.from(files, (f) => ({ path: f.webkitRelativePath, file: f }));
}

function start(checkpoint?: { name: string; bytes: Uint8Array }): void {
  let s: RunSettings;
  try {
    s = settings();
  } catch (err) {
    log((err as Error).message, true);
    return;
  }
  page.losses = [];
  page.epochs = [];
  page.info = undefined;
  $('knn-table').querySelector('tbody')!.replaceChildren();
  $('knn').textContent = '–';
  log(checkpoint ? `continuing ${checkpoint.name}` : `starting ${PAGE_METHODS[s.method]} on ${s.backend}`);
  setState('running');
  page.awaitingStart = true;
  send(
    { type: 'start', settings: s, folder: folderFiles(), checkpoint },
    checkpoint ? [checkpoint.bytes.buffer] : [],
  );
}

function fail(message: string): void {
  page.errors.push(message);
  log(message, true);
  setState('error');
  if (url.autorun) {
    $('result').textContent = JSON.stringify({ error: message });
  }
}

function showBackends(list: BackendStatus[], isolated: boolean): void {
  page.backends = list;
  const sel = controls.backend;
  sel.replaceChildren(new Option('auto', 'auto'));
  for (const b of list) {
    const label = b.installed
      ? b.available
        ? b.name
        : `${b.name} (unavailable)`
      : `${b.name} (not installed)`;
    const opt = new Option(label, b.name);
    opt.title = b.reason ?? b.version ?? '';
    opt.disabled = !b.available && url.backend !== b.name;
    sel.add(opt);
    if (!b.available) log(`backend ${b.name}: ${b.reason ?? 'unavailable'}`);
  }
  sel.value = url.backend ?? 'auto';
  log(
    isolated
      ? 'page is cross-origin isolated: wasm may use threads'
      : 'page is not cross-origin isolated: wasm runs 1 thread',
  );
}

function started(info: RunInfo): void {
  page.info = info;
  controls.method.value = info.method;
  $('backend-line').textContent = `${info.backend} (${info.backendDetail})`;
  $('step').textContent = `0 / ${info.totalSteps}`;
  log(
    `${info.method} on ${info.dataset}: ${info.trainImages} training images` +
      (info.knn ? `, ${info.testImages} held out for kNN` : ', no labels: no kNN') +
      `, ${info.imageSize} px, batch ${info.batchSize}, ${info.totalSteps} steps (${info.stepsPerEpoch} an epoch)`,
  );
  chart.reset(info.totalSteps);
  const canvas = $<HTMLCanvasElement>('maps');
  if (info.hasMaps) {
    mapsView = new MapsView(canvas, info.mapImages);
    $('maps-note').textContent =
      'Each row: a held-out image, then the first alignment maps of the online encoder over it, each stretched to its own range (turbo: blue lowest, red highest).';
  } else {
    mapsView = undefined;
    canvas.width = 0;
    canvas.height = 0;
    $('maps-note').textContent =
      `${info.method} pools globally and makes no alignment maps: pick LEWEL_B or LEWEL_M to see where it looks.`;
  }
  const old = controls.downloadConfig.href;
  if (old.startsWith('blob:')) URL.revokeObjectURL(old);
  controls.downloadConfig.href = URL.createObjectURL(new Blob([info.configYaml], { type: 'text/yaml' }));
  controls.downloadConfig.classList.remove('disabled');
  setState('running');
}

function epochRow(m: EpochMetrics): void {
  page.epochs.push(m);
  const tr = document.createElement('tr');
  const cells = [
    `${m.epoch}${m.partial ? ' (partial)' : ''}`,
    String(m.step),
    m.loss.toFixed(4),
    m.knn === undefined ? '–' : `${m.knn.toFixed(2)}%`,
  ];
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  $('knn-table').querySelector('tbody')!.append(tr);
  if (m.knn !== undefined) $('knn').textContent = `${m.knn.toFixed(2)}% (epoch ${m.epoch})`;
}

function download(name: string, bytes: Uint8Array): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(
    new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
  );
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

function finish(steps: number, stopped: boolean): void {
  setState('done');
  log(stopped ? `stopped at step ${steps}` : `done: ${steps} steps`);
  if (url.autorun && page.info && !stopped) {
    const result: AutorunResult = {
      backend: page.info.backend,
      method: page.info.method,
      steps,
      lossFirst: page.losses[0],
      lossLast: page.losses[page.losses.length - 1],
      mapsDrawn: page.mapsDrawn,
      imgsPerS: page.imgsPerS,
    };
    $('result').textContent = JSON.stringify(result);
  }
}

/** Messages about a run: dropped while a new run is starting (they are the old run's). */
const RUN_MESSAGES = new Set<FromWorker['type']>([
  'begin',
  'step',
  'maps',
  'epoch',
  'paused',
  'resumed',
  'done',
  'checkpoint',
]);

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (page.awaitingStart && RUN_MESSAGES.has(m.type)) return;
  switch (m.type) {
    case 'backends':
      showBackends(m.backends, m.crossOriginIsolated);
      if (url.autorun && page.state !== 'error') start();
      return;
    case 'log':
      return log(m.line);
    case 'started':
      page.awaitingStart = false;
      return started(m.info);
    case 'begin':
      if (m.state.step > 0) {
        chart.reset(page.info?.totalSteps ?? m.state.step, m.state.history);
        m.state.metrics.forEach(epochRow);
        log(`continuing from step ${m.state.step}`);
      }
      return;
    case 'step':
      page.losses.push(m.loss);
      page.step = m.step;
      page.imgsPerS = m.imgsPerS;
      chart.add(m.step, m.loss);
      $('step').textContent = `${m.step} / ${page.info?.totalSteps ?? '?'}`;
      $('epoch').textContent = String(m.epoch);
      $('loss').textContent = m.loss.toFixed(4);
      $('ips').textContent = m.imgsPerS.toFixed(1);
      return;
    case 'maps':
      if (mapsView) {
        mapsView.draw(m.frame);
        page.mapsDrawn = mapsView.drawn;
        $('maps-step').textContent = `(step ${m.frame.step})`;
      }
      return;
    case 'epoch':
      return epochRow(m.metrics);
    case 'paused':
      setState('paused');
      return log(`paused (after step ${m.step})`);
    case 'resumed':
      return setState('running');
    case 'done':
      return finish(m.steps, m.stopped);
    case 'checkpoint':
      log(`checkpoint of step ${m.step}: ${m.name} (${(m.bytes.length / 1024).toFixed(0)} KiB)`);
      return download(m.name, m.bytes);
    case 'parity':
      return;
    case 'error':
      page.awaitingStart = false;
      return fail(m.message);
  }
};
worker.onerror = (event) => fail(`worker: ${event.message}`);

controls.start.onclick = () => start();
controls.pause.onclick = () => send({ type: page.state === 'paused' ? 'resume' : 'pause' });
controls.download.onclick = () => send({ type: 'checkpoint' });
controls.data.onchange = () => {
  if (controls.data.value === 'folder' && !controls.folder.files?.length) controls.folder.click();
};
controls.folder.onchange = () => {
  const files = controls.folder.files;
  if (!files?.length) return;
  controls.data.value = 'folder';
  $('folder-line').textContent =
    `folder '${files[0].webkitRelativePath.split('/')[0]}': ${files.length} files`;
};
controls.load.onchange = async () => {
  const file = controls.load.files?.[0];
  if (!file) return;
  start({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) });
  controls.load.value = '';
};

setState('idle');
send({ type: 'hello' });
