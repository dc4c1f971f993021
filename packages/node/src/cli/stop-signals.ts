import { constants } from 'node:os';

/** The signals a run stops gracefully on: Ctrl-C, and what kill, systemd and Slurm send. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's exit status for a process ended by `signal`: 130 for SIGINT, 143 for SIGTERM. */
export const signalExitCode = (signal: StopSignal) => 128 + constants.signals[signal];

export interface StopSignalHandlers {
  /** The first signal: stop after the step in flight (or at once, if nothing would be lost). */
  first(signal: StopSignal): void;
  /** Any later signal: the user insists; stop at once. */
  again(signal: StopSignal): void;
}

/**
 * Routes SIGINT and SIGTERM to `handlers` (first, then again) instead of Node's default of
 * dying on the spot. Returns the function that restores the previous behaviour.
 */
export function onStopSignals(handlers: StopSignalHandlers): () => void {
  let received = false;
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => {
      if (!received) {
        received = true;
        handlers.first(signal);
      } else {
        handlers.again(signal);
      }
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
