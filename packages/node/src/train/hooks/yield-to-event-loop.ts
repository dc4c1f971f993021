import type { TrainerHook } from '@selfsup/core';

/**
 * Lets the event loop run once after every step. On the cpu and wasm backends a step and the
 * in-memory batch that follows resolve as promise callbacks only, which never reach the phase
 * where Node delivers signals, so without this a SIGINT or SIGTERM would wait for the next file
 * write (the end of the epoch) instead of stopping after the step in flight.
 */
export class YieldToEventLoopHook implements TrainerHook {
  readonly name = 'yield-to-event-loop';
  // Before the checkpoint hook (80): a stop requested by a signal delivered here is saved this step.
  readonly priority = 10;

  afterStep(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}
