/**
 * The golden parity fixtures under test/fixtures/parity, grouped by the reference that made them
 * (test/fixtures/README.md says which, with the command). Every parity test takes its list from
 * here, and test/parity.test.ts checks that the folder holds exactly these.
 */
import { fileURLToPath } from 'node:url';

/** BYOL, MoCo v2, LEWEL_B, LEWEL_M: the project's independent reference (../shared/fixtures/parity). */
export const ORIGINAL_FIXTURES = ['byol', 'moco', 'lewel_b', 'lewel_m'];

/**
 * LEWEL_B and LEWEL_M at other image sizes (final maps 2x2 and 4x4, odd maps inside), batch
 * sizes, seeds, head counts G and map counts K, a queue that wraps, and the main job's map
 * settings (l2norm off, scale 0.5, loss weight 0.75): the same reference, driven by
 * bench/reference/make_ref_fixtures.py (which reproduces the originals bit for bit).
 */
export const SHAPE_FIXTURES = [
  'lewel_b_g2_r20_b3',
  'lewel_b_g8_r16_b6',
  'lewel_m_g8_r28_q8',
  'lewel_m_g2_k8_r12_b2',
  'lewel_b_nol2_s05_w075',
];

/** SimSiam, SimCLR and their LEWEL forms: bench/reference/make_fixtures.py. */
export const SIAMESE_FIXTURES = ['simsiam', 'simclr', 'lewel_simsiam', 'lewel_simclr'];

export const PARITY_FIXTURES = [...ORIGINAL_FIXTURES, ...SIAMESE_FIXTURES, ...SHAPE_FIXTURES];

export const PARITY_FIXTURES_DIR = fileURLToPath(new URL('./fixtures/parity', import.meta.url));

export const parityFixtureDir = (name: string): string => `${PARITY_FIXTURES_DIR}/${name}`;
