import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseParityFixture, type ParityFixture } from '@selfsup/core';

/** Reads a parity fixture folder (fixture.json + init/inputs/expected.safetensors). */
export async function loadParityFixture(dir: string): Promise<ParityFixture> {
  let fixtureJson: string;
  try {
    fixtureJson = await readFile(join(dir, 'fixture.json'), 'utf8');
  } catch (err) {
    throw new Error(
      `${join(dir, 'fixture.json')}: cannot read fixture description: ${(err as Error).message}`,
    );
  }
  const [init, inputs, expected] = await Promise.all(
    ['init', 'inputs', 'expected'].map((f) => readFile(join(dir, `${f}.safetensors`))),
  );
  return parseParityFixture(dir, { fixtureJson, init, inputs, expected });
}
