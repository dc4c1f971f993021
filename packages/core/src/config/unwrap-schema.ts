import type { ZodTypeAny } from 'zod';

/**
 * The schema under its wrappers: defaults, optionals, nullables, readonly and refinements
 * (zod keeps the wrapped schema in `_def.innerType` or, for effects, `_def.schema`).
 */
export function unwrapSchema(schema: ZodTypeAny | undefined): ZodTypeAny | undefined {
  let x = schema;
  for (let i = 0; i < 8 && x; i++) {
    const def = x._def as { innerType?: ZodTypeAny; schema?: ZodTypeAny };
    if (def.innerType) x = def.innerType;
    else if (def.schema) x = def.schema;
    else break;
  }
  return x;
}
