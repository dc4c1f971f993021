/**
 * parity.html: runs the PyTorch parity fixtures (served at fixtures/parity/<name>/) in the
 * training worker on wasm (or ?backend=) and writes the reports into #result as JSON.
 */
import type { FromWorker, ToWorker } from '../protocol';

/** The fixtures of the methods the page trains. */
const DEFAULT_FIXTURES = ['byol', 'moco', 'lewel_b', 'lewel_m'];

const params = new URLSearchParams(location.search);
const names = (params.get('fixtures') ?? DEFAULT_FIXTURES.join(',')).split(',').filter(Boolean);
const backend = params.get('backend') ?? 'wasm';
const worker = new Worker(new URL('worker.js', location.href));
const result = document.getElementById('result')!;
const body = document.querySelector('#parity-table tbody')!;

function row(cells: string[], ok?: boolean): void {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  if (ok === false) tr.className = 'error';
  body.append(tr);
}

worker.onmessage = (event: MessageEvent<FromWorker>) => {
  const m = event.data;
  if (m.type === 'parity') {
    for (const r of m.results) {
      row(
        [
          r.fixture,
          r.backend,
          r.ok ? 'pass' : `FAIL: ${r.failed.join('; ')}`,
          `${r.worst.name}: ${r.worst.error.toExponential(2)} ≤ ${r.worst.bound.toExponential(2)}`,
        ],
        r.ok,
      );
    }
    result.textContent = JSON.stringify(m.results);
  } else if (m.type === 'error') {
    row([m.message], false);
    result.textContent = JSON.stringify({ error: m.message });
  }
};
const fixtures = names.map((n) => new URL(`fixtures/parity/${n}/`, location.href).href);
const message: ToWorker = { type: 'parity', fixtures, backend };
worker.postMessage(message);
