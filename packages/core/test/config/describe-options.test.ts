import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeOptions } from '../../src/config/describe-options';

describe('describeOptions', () => {
  it('lists each key in order with its type, whether it is required and its default', () => {
    const schema = z
      .object({
        size: z.number().int().positive(),
        scale: z.tuple([z.number(), z.number()]).default([0.2, 1]),
        p: z.number().min(0).max(1).optional(),
        mode: z.enum(['skip', 'fail']).default('fail'),
        views: z.array(z.object({ type: z.string() })).min(1),
        name: z.union([z.string(), z.literal(3)]).optional(),
        on: z.boolean().default(true),
        extra: z.record(z.unknown()).optional(),
        odd: z
          .number()
          .refine((k) => k % 2 === 1)
          .default(3),
      })
      .strict();
    expect(describeOptions(schema)).toEqual([
      { key: 'size', type: 'integer', required: true },
      { key: 'scale', type: '[number, number]', required: false, default: [0.2, 1] },
      { key: 'p', type: 'number', required: false },
      { key: 'mode', type: '"skip" | "fail"', required: false, default: 'fail' },
      { key: 'views', type: 'list of object', required: true },
      { key: 'name', type: 'string | 3', required: false },
      { key: 'on', type: 'boolean', required: false, default: true },
      { key: 'extra', type: 'map of any', required: false },
      { key: 'odd', type: 'number', required: false, default: 3 },
    ]);
  });

  it('a schema that is not an object, or none, has no keys', () => {
    expect(describeOptions(undefined)).toEqual([]);
    expect(describeOptions(z.number())).toEqual([]);
  });
});
