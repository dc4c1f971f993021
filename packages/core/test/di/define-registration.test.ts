/**
 * defineRegistration: a create written against typed, parsed options (z.infer of its schema),
 * options parsed once, by the pipeline (naming the config key) or by create for raw callers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createPipeline,
  defineAsyncRegistration,
  defineRegistration,
  markParsed,
  registerType,
  tf,
  z,
  type AggregatorContext,
  type AggregatorRegistration,
  type Plugin,
} from '@selfsup/core';
import { byolPlugin } from '@selfsup/plugin-byol';
import { lewelPlugin } from '@selfsup/plugin-lewel';
import { LewelAggregator, lewelOptionsSchema } from '@selfsup/plugin-lewel';

const TINY = { type: 'resnet', blocks: [1, 1], widths: [4, 8], stem: 'cifar' };

/** A schema that counts how often it runs. */
function countingSchema() {
  const counter = { parses: 0 };
  const schema = z
    .object({ width: z.number().int().positive().default(3), name: z.string().default('x') })
    .strict()
    .superRefine(() => void counter.parses++);
  return { schema, counter };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('defineRegistration', () => {
  it('create gets the parsed options: typed, with defaults filled in', () => {
    const { schema } = countingSchema();
    const seen: Array<{ width: number; name: string }> = [];
    const reg = defineRegistration({
      type: 't',
      plugin: 'test',
      optionsSchema: schema,
      create: (o, scale: number) => {
        seen.push(o);
        return o.width * scale;
      },
    });
    expect(reg.create({ width: 5 }, 2)).toBe(10);
    expect(reg.create(undefined, 2)).toBe(6);
    expect(seen).toEqual([
      { width: 5, name: 'x' },
      { width: 3, name: 'x' },
    ]);
  });

  it('raw options are parsed once per call; options already parsed pass straight through', () => {
    const { schema, counter } = countingSchema();
    const reg = defineRegistration({ type: 't', plugin: 'test', optionsSchema: schema, create: (o) => o });
    reg.create({ width: 4 });
    expect(counter.parses).toBe(1);
    const parsed = markParsed(schema.parse({ width: 4 }));
    counter.parses = 0;
    expect(reg.create(parsed)).toBe(parsed);
    expect(counter.parses).toBe(0);
  });

  it('bad raw options name the registration and the key', () => {
    const reg = defineRegistration({
      type: 'widget',
      plugin: 'test-plugin',
      optionsSchema: countingSchema().schema,
      create: (o) => o,
    });
    expect(() => reg.create({ width: -1 })).toThrow(/'widget' \(test-plugin\): invalid options: width: /);
    expect(() => reg.create({ colour: 'red' })).toThrow(/colour/);
  });

  it('defineAsyncRegistration rejects the promise on bad options', async () => {
    const reg = defineAsyncRegistration({
      type: 'ds',
      plugin: 'test',
      optionsSchema: countingSchema().schema,
      create: async (o) => o.width,
    });
    await expect(reg.create({ width: 2 })).resolves.toBe(2);
    await expect(reg.create({ width: 'two' })).rejects.toThrow(/width/);
  });
});

describe('the pipeline parses each registration options once', () => {
  it('aggregator options: one parse for the online and the target encoder; errors name the key', () => {
    const { schema, counter } = countingSchema();
    const seen: unknown[] = [];
    const counted: AggregatorRegistration = defineRegistration({
      type: 'counted_lewel',
      plugin: 'test',
      optionsSchema: schema,
      create: (o, ctx: AggregatorContext) => {
        seen.push(o);
        return new LewelAggregator(lewelOptionsSchema.parse({ heads: 2 }), ctx);
      },
    });
    const plugin: Plugin = { name: 'test', register: (c) => registerType(c, 'Aggregator', counted) };
    const p = createPipeline(
      {
        method: { type: 'byol', hiddenDim: 8, outDim: 8 },
        aggregator: { type: 'counted_lewel', width: 2 },
        backbone: TINY,
      },
      { plugins: [byolPlugin, lewelPlugin, plugin] },
    );
    expect(counter.parses).toBe(1);
    expect(seen).toEqual([
      { width: 2, name: 'x' },
      { width: 2, name: 'x' },
    ]);
    p.dispose();
    expect(() =>
      createPipeline(
        { method: 'byol', aggregator: { type: 'counted_lewel', width: 0 }, backbone: TINY },
        { plugins: [byolPlugin, lewelPlugin, plugin], source: 'run.yaml' },
      ),
    ).toThrow(/aggregator\.width: got 0/);
  });
});
