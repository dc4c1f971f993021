export { parseParityFixture, fixtureToConfig } from './fixture';
export type { ParityFixture, ParityFixtureFiles, ParityFixtureSpec } from './fixture';
export { runParity, runParityAsync, PARITY_TOLERANCE } from './run';
export type { ParityCheck, ParityReport } from './run';
