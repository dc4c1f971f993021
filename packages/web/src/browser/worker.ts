/**
 * The page's training worker: the registry with the method, aggregator and backend plugins,
 * the backend the page asked for, and one PageRun at a time. Training runs here so the page
 * stays responsive; everything shown is posted back as messages (protocol.ts).
 */
import {
  createRegistryContainer,
  parseParityFixture,
  runParityAsync,
  StopRequested,
  type SelectedBackend,
  type SelfsupConfig,
} from '@selfsup/core';
import { setWasmBinaryLocation, wasmBackendPlugin, wasmState } from '@selfsup/backend-wasm';
import { byolPlugin } from '@selfsup/plugin-byol';
import { mocoPlugin } from '@selfsup/plugin-moco';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import recipes from 'selfsup-web:recipes';
import optionalBackends from 'selfsup-web:optional-backends';
import { activateBackend, backendTable } from '../backends';
import { PageRun, checkpointConfig } from '../page-run';
import type { FromWorker, ParityResult, RunInfo, ToWorker } from '../protocol';
import { configToYaml, pageConfig, type RunSettings } from '../run-config';
import { decodeFolder } from './decode';

// The build copies tfjs-backend-wasm's binaries to wasm/ next to this script.
setWasmBinaryLocation(new URL('wasm/', self.location.href).href);

const plugins = [wasmBackendPlugin, ...optionalBackends, byolPlugin, mocoPlugin, lewelPlugin];
const registry = createRegistryContainer(plugins);

function post(message: FromWorker, transfer: Transferable[] = []): void {
  self.postMessage(message, { transfer });
}
const log = (line: string) => post({ type: 'log', line });
/** selectBackend words a named choice as the CLI flag's; here it is the page's select. */
const pageWords = (text: string) => text.replace('from --backend', 'chosen in the page');

let current: { run: PageRun; done: Promise<unknown> } | undefined;

async function describeBackend(selected: SelectedBackend): Promise<string> {
  if (selected.name === 'wasm') {
    const s = wasmState();
    const isolated = self.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated';
    if (s) return `${s.build}, ${s.threads} thread${s.threads === 1 ? '' : 's'} (${isolated})`;
  }
  // The device it runs on (webgpu: the adapter, e.g. "google swiftshader, software adapter").
  return (await selected.provider.probe()).device ?? selected.provider.description;
}

/** The run's config: a continued checkpoint's own (with the page's length settings), else the recipe's. */
function runConfig(settings: RunSettings, checkpoint?: { name: string; bytes: Uint8Array }): SelfsupConfig {
  if (!checkpoint) return pageConfig(recipes, settings);
  const config = structuredClone(checkpointConfig(checkpoint.name, checkpoint.bytes));
  // Only the length may change on resume (the config hash leaves it out).
  if (settings.steps !== undefined) config.train.maxSteps = settings.steps;
  if (settings.epochs !== undefined) config.train.epochs = settings.epochs;
  return config;
}

async function start(message: Extract<ToWorker, { type: 'start' }>): Promise<void> {
  if (current) {
    current.run.stop('a new run was started');
    await current.done.catch(() => undefined);
    current.run.dispose();
    current = undefined;
  }
  const { settings } = message;
  const config = runConfig(settings, message.checkpoint);
  const selected = await activateBackend(registry, settings.backend, settings.threads, (l) =>
    log(pageWords(l)),
  );
  let folder;
  if (config.data.dataset === 'image_folder') {
    if (!message.folder?.length) {
      throw new Error(`this run trains on the folder '${config.data.path}': pick it first`);
    }
    const decoded = await decodeFolder(
      message.folder,
      config.data.imageSize,
      config.data.count,
      (done, total) => log(`decoding ${done}/${total} images`),
    );
    if (decoded.skipped.length > 0)
      log(`skipped ${decoded.skipped.length} unreadable image(s): ${decoded.skipped.slice(0, 5).join(', ')}`);
    folder = decoded.dataset;
  }
  const run = await PageRun.create({
    config,
    plugins,
    folder,
    checkpoint: message.checkpoint,
    mapsEvery: settings.mapsEvery,
    log,
    begin: (state) => post({ type: 'begin', state }),
    step: (s) =>
      post({ type: 'step', step: s.step, epoch: s.epoch, loss: s.loss, lr: s.lr, imgsPerS: s.imgsPerS }),
    epoch: (metrics) => post({ type: 'epoch', metrics }),
    maps: (frame) => post({ type: 'maps', frame }, [frame.data.buffer]),
  });
  const method = (typeof config.method === 'string' ? config.method : config.method.type) as string;
  const aggregator = typeof config.aggregator === 'string' ? config.aggregator : config.aggregator.type;
  const info: RunInfo = {
    backend: selected.name,
    backendDetail: `${await describeBackend(selected)}; ${pageWords(selected.reason)}`,
    method: aggregator === 'lewel' ? `lewel_${method === 'byol' ? 'b' : 'm'}` : method,
    dataset: run.splits.train.name,
    trainImages: run.splits.train.length,
    testImages: run.splits.test?.length ?? 0,
    imageSize: config.data.imageSize,
    batchSize: config.train.batchSize,
    totalSteps: run.totalSteps,
    stepsPerEpoch: run.stepsPerEpoch,
    mapImages: run.mapImages.map((im) => ({ height: im.height, width: im.width, data: im.data })),
    hasMaps: run.maps.available,
    knn: run.splits.test !== undefined,
    configYaml: configToYaml(config),
  };
  post({ type: 'started', info });
  const done = (async () => {
    try {
      const summary = await run.run();
      post({ type: 'done', steps: summary.steps, stopped: false });
    } catch (err) {
      if (err instanceof StopRequested) post({ type: 'done', steps: err.step, stopped: true });
      else throw err;
    }
  })();
  current = { run, done };
  done.catch((err: unknown) => post({ type: 'error', message: (err as Error).message ?? String(err) }));
}

async function parity(fixtures: string[], backend: string): Promise<void> {
  await activateBackend(registry, backend, 1, log);
  const results: ParityResult[] = [];
  for (const url of fixtures) {
    const base = url.endsWith('/') ? url : `${url}/`;
    const get = async (name: string) => {
      const r = await fetch(new URL(name, base));
      if (!r.ok) throw new Error(`${base}${name}: HTTP ${r.status}`);
      return r;
    };
    const [json, init, inputs, expected] = await Promise.all([
      get('fixture.json').then((r) => r.text()),
      ...['init', 'inputs', 'expected'].map((f) =>
        get(`${f}.safetensors`).then(async (r) => new Uint8Array(await r.arrayBuffer())),
      ),
    ]);
    const fixture = parseParityFixture(base.replace(/\/$/, ''), {
      fixtureJson: json as string,
      init: init as Uint8Array,
      inputs: inputs as Uint8Array,
      expected: expected as Uint8Array,
    });
    const report = await runParityAsync(fixture, plugins);
    results.push({
      fixture: report.fixture,
      variant: report.variant,
      backend: report.backend,
      ok: report.ok,
      failed: report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.error} > ${c.bound}`),
      worst: { name: report.worst.name, error: report.worst.error, bound: report.worst.bound },
    });
  }
  post({ type: 'parity', results });
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'hello':
      post({
        type: 'backends',
        backends: await backendTable(registry),
        crossOriginIsolated: self.crossOriginIsolated,
      });
      return;
    case 'start':
      return start(message);
    case 'pause':
      if (!current) throw new Error('nothing to pause: start training first');
      current.run.control.pause();
      post({ type: 'paused', step: current.run.trainer.meta.step });
      return;
    case 'resume':
      current?.run.control.resume();
      post({ type: 'resumed' });
      return;
    case 'checkpoint': {
      if (!current) throw new Error('no checkpoint yet: start training first');
      const ck = await current.run.checkpoint();
      post({ type: 'checkpoint', ...ck }, [ck.bytes.buffer]);
      return;
    }
    case 'parity':
      return parity(message.fixtures, message.backend);
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch((err: unknown) =>
    post({ type: 'error', message: (err as Error).message ?? String(err) }),
  );
};
