import { Worker } from 'node:worker_threads';

/**
 * A main thread stuck inside wasm (a pthread of the threaded build that never returns) runs no
 * JS timer, so the clock must live on another thread: this one waits on a heartbeat in shared
 * memory and, when a step has run past its limit, writes why to stderr and kills the process.
 * Exiting beats hanging: the checkpoints on disk are atomic, so the last one stays usable.
 */
export interface Watchdog {
  /** A step begins: the clock starts. */
  begin(step: number): void;
  /** The step ended: the clock stops (time between steps, e.g. evaluation, is not watched). */
  end(): void;
  /** Changes the limit, e.g. once the first step's duration is known. */
  setTimeout(ms: number): void;
  stop(): void;
}

// Int32 slots of the heartbeat.
const SEQ = 0; // bumped on every begin/end/setTimeout so the watcher re-arms
const BUSY = 1; // 1 while a step runs
const STEP = 2;
const TIMEOUT_MS = 3;
const STOP = 4;

// Plain JS in an eval worker: no file to ship in dist, nothing imported but node built-ins.
const WATCHER = `
const { workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const hb = new Int32Array(workerData.sab);
for (;;) {
  const seq = Atomics.load(hb, ${SEQ});
  if (Atomics.load(hb, ${STOP}) === 1) break;
  const busy = Atomics.load(hb, ${BUSY}) === 1;
  const limit = Atomics.load(hb, ${TIMEOUT_MS});
  const r = Atomics.wait(hb, ${SEQ}, seq, busy ? limit : 2147483647);
  if (r === 'timed-out' && busy && Atomics.load(hb, ${SEQ}) === seq && Atomics.load(hb, ${STOP}) === 0) {
    writeSync(2, '\\nselfsup watchdog: ' + workerData.label + ' step ' + Atomics.load(hb, ${STEP}) +
      ' did not finish within ' + (limit / 1000).toFixed(1) + ' s (the main thread is blocked, e.g. a wasm ' +
      'thread that never returned); stopping the process. The last checkpoint on disk is intact.\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}
`;

export function startWatchdog(opts: { timeoutMs: number; label?: string }): Watchdog {
  const sab = new SharedArrayBuffer(5 * 4);
  const hb = new Int32Array(sab);
  const bump = () => {
    Atomics.add(hb, SEQ, 1);
    Atomics.notify(hb, SEQ);
  };
  const setLimit = (ms: number) => {
    if (!(ms > 0)) throw new Error(`watchdog: timeout must be > 0 ms, got ${ms}`);
    Atomics.store(hb, TIMEOUT_MS, Math.min(2 ** 31 - 1, Math.round(ms)));
  };
  setLimit(opts.timeoutMs);
  const worker = new Worker(WATCHER, { eval: true, workerData: { sab, label: opts.label ?? 'training' } });
  // It must never keep the process alive on its own.
  worker.unref();
  return {
    begin(step) {
      Atomics.store(hb, STEP, step);
      Atomics.store(hb, BUSY, 1);
      bump();
    },
    end() {
      Atomics.store(hb, BUSY, 0);
      bump();
    },
    setTimeout(ms) {
      setLimit(ms);
      bump();
    },
    stop() {
      Atomics.store(hb, STOP, 1);
      bump();
      void worker.terminate();
    },
  };
}
