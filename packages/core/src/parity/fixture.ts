import { z } from 'zod';
import { parseWith, type SelfsupConfigInput } from '../config/schema';
import { parseSafetensors, type SafetensorsTensor } from '../io/safetensors';

/** fixture.json of the reference's parity format (see test/fixtures/README.md). */
const fixtureSchema = z.object({
  variant: z.string(),
  seed: z.number().optional(),
  config: z
    .object({
      /** A registered method type, `lewel_<method>` for it with the lewel aggregator, or lewel_b / lewel_m. */
      method: z.string().min(1),
      widths: z.array(z.number().int().positive()).min(1),
      blocks: z.array(z.number().int().positive()).min(1),
      block: z.enum(['basic', 'bottleneck']).default('basic'),
      stem: z.enum(['cifar', 'imagenet']).default('cifar'),
      hid: z.number().int().positive(),
      dim: z.number().int().positive(),
      head: z.string().optional(),
      pred_hid: z.number().int().positive().optional(),
      proj_out_bn: z.boolean().optional(),
      heads: z.number().int().positive().optional(),
      scale: z.number().positive().optional(),
      l2norm: z.boolean().optional(),
      loss_weight: z.number().optional(),
      queue: z.number().int().positive().optional(),
      temperature: z.number().positive().optional(),
      symmetric: z.boolean().optional(),
      batch: z.number().int().positive().optional(),
      res: z.number().int().positive().optional(),
    })
    .passthrough(),
  optimizer: z.object({
    kind: z.enum(['sgd', 'lars']),
    lr: z.number().positive(),
    wd: z.number().nonnegative(),
    momentum: z.number().nonnegative(),
    eta: z.number().positive().optional(),
  }),
  /** null: the method has no target network. */
  ema: z
    .object({
      base_momentum: z.number().min(0).max(1),
      schedule: z.enum(['cosine', 'constant']),
      total_steps: z.number().int().positive(),
    })
    .nullable(),
  steps: z
    .array(
      z.object({
        step: z.number().int().nonnegative(),
        loss: z.number(),
        loss_global: z.number().optional(),
        loss_aligned: z.number().optional(),
        ema_momentum: z.number().optional(),
      }),
    )
    .min(1),
});
export type ParityFixtureSpec = z.infer<typeof fixtureSchema>;

export interface ParityFixture {
  dir: string;
  spec: ParityFixtureSpec;
  init: Map<string, SafetensorsTensor>;
  inputs: Map<string, SafetensorsTensor>;
  expected: Map<string, SafetensorsTensor>;
}

/** The four files of a fixture folder, as text and bytes (read from disk, fetched by a page, ...). */
export interface ParityFixtureFiles {
  fixtureJson: string;
  init: Uint8Array;
  inputs: Uint8Array;
  expected: Uint8Array;
}

/** Parses a fixture folder's files; `dir` names the folder in errors. */
export function parseParityFixture(dir: string, files: ParityFixtureFiles): ParityFixture {
  const jsonPath = `${dir}/fixture.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(files.fixtureJson);
  } catch (err) {
    throw new Error(`${jsonPath}: cannot read fixture description: ${(err as Error).message}`);
  }
  const spec = parseWith(fixtureSchema, raw, jsonPath);
  const [init, inputs, expected] = (['init', 'inputs', 'expected'] as const).map((f) =>
    parseSafetensors(files[f], `${dir}/${f}.safetensors`),
  );
  return { dir, spec, init, inputs, expected };
}

/** The reference's names for a method with the lewel aggregator. */
const LEWEL_ALIASES: Record<string, string> = { lewel_b: 'byol', lewel_m: 'moco' };

/** Fixture config keys that are method options, under the option's name in selfsup. */
const METHOD_OPTION_KEYS = {
  hid: 'hiddenDim',
  dim: 'outDim',
  head: 'head',
  pred_hid: 'predictorHiddenDim',
  proj_out_bn: 'outputBatchNorm',
  queue: 'queueSize',
  temperature: 'temperature',
  symmetric: 'symmetric',
} as const;

/**
 * The selfsup config that builds the reference's model. The reference's variant names map to
 * method + aggregator: lewel_b = byol + lewel, lewel_m = moco + lewel, lewel_<m> = <m> + lewel.
 * Only the keys the fixture has become method options, so the method's schema names any it
 * does not take.
 */
export function fixtureToConfig(spec: ParityFixtureSpec): SelfsupConfigInput {
  const c = spec.config;
  const lewel = c.method.startsWith('lewel_');
  const base = LEWEL_ALIASES[c.method] ?? (lewel ? c.method.slice('lewel_'.length) : c.method);
  const method: { type: string } & Record<string, unknown> = { type: base };
  for (const [key, option] of Object.entries(METHOD_OPTION_KEYS)) {
    const value = c[key as keyof typeof c];
    if (value !== undefined) method[option] = value;
  }
  if (spec.ema) method.baseMomentum = spec.ema.base_momentum;
  const aggregator = lewel
    ? {
        type: 'lewel',
        ...(c.heads !== undefined && { heads: c.heads }),
        ...(c.scale !== undefined && { scale: c.scale }),
        ...(c.l2norm !== undefined && { l2norm: c.l2norm }),
        ...(c.loss_weight !== undefined && { lossWeight: c.loss_weight }),
      }
    : 'global';
  const o = spec.optimizer;
  const optimizer =
    o.kind === 'lars'
      ? {
          type: 'lars',
          lr: o.lr,
          weightDecay: o.wd,
          momentum: o.momentum,
          ...(o.eta !== undefined && { eta: o.eta }),
        }
      : { type: 'sgd', lr: o.lr, weightDecay: o.wd, momentum: o.momentum };
  return {
    method,
    aggregator,
    backbone: { type: 'resnet', block: c.block, blocks: c.blocks, widths: c.widths, stem: c.stem },
    optimizer,
    train: { seed: spec.seed ?? 0 },
  };
}
