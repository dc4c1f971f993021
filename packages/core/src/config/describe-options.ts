import type { ZodTypeAny } from 'zod';
import { unwrapSchema } from './unwrap-schema';

/** One key of a registration's options, as `selfsup info SEAM TYPE` shows it. */
export interface OptionDescription {
  key: string;
  /** The value's shape in words: number, integer, boolean, 'a' | 'b', [number, number], ... */
  type: string;
  required: boolean;
  /** The value used when the key is left out, where the schema has one. */
  default?: unknown;
}

interface Def {
  typeName?: string;
  innerType?: ZodTypeAny;
  schema?: ZodTypeAny;
  defaultValue?: () => unknown;
  checks?: Array<{ kind: string }>;
  values?: readonly unknown[] | Record<string, unknown>;
  value?: unknown;
  items?: ZodTypeAny[];
  type?: ZodTypeAny;
  options?: ZodTypeAny[];
  valueType?: ZodTypeAny;
}
const defOf = (t: ZodTypeAny): Def => (t as unknown as { _def: Def })._def;

/** The shape of a schema's values in words (through defaults, optionals and refinements). */
export function describeType(schema: ZodTypeAny): string {
  const d = defOf(unwrapSchema(schema)!);
  switch (d.typeName) {
    case 'ZodNumber':
      return d.checks?.some((c) => c.kind === 'int') ? 'integer' : 'number';
    case 'ZodString':
      return 'string';
    case 'ZodBoolean':
      return 'boolean';
    case 'ZodEnum':
      return (d.values as readonly unknown[]).map((v) => JSON.stringify(v)).join(' | ');
    case 'ZodNativeEnum':
      return Object.values(d.values as Record<string, unknown>)
        .map((v) => JSON.stringify(v))
        .join(' | ');
    case 'ZodLiteral':
      return JSON.stringify(d.value);
    case 'ZodTuple':
      return `[${d.items!.map(describeType).join(', ')}]`;
    case 'ZodArray':
      return `list of ${describeType(d.type!)}`;
    case 'ZodUnion':
      return d.options!.map(describeType).join(' | ');
    case 'ZodRecord':
      return `map of ${describeType(d.valueType!)}`;
    case 'ZodObject':
      return 'object';
    default:
      return 'any';
  }
}

/** The default a schema fills in, if it has one (looking through optionals and refinements). */
function defaultOf(schema: ZodTypeAny): { has: boolean; value?: unknown } {
  const d = defOf(schema);
  if (d.typeName === 'ZodDefault') return { has: true, value: d.defaultValue!() };
  if (d.typeName === 'ZodOptional' || d.typeName === 'ZodNullable') return defaultOf(d.innerType!);
  if (d.typeName === 'ZodEffects') return defaultOf(d.schema!);
  return { has: false };
}

/**
 * The keys an object options schema accepts, in its order, with their type, whether they are
 * required and their default. A schema that is not an object (or none) has no keys.
 */
export function describeOptions(schema: ZodTypeAny | undefined): OptionDescription[] {
  const shape = (unwrapSchema(schema) as unknown as { shape?: Record<string, ZodTypeAny> } | undefined)
    ?.shape;
  if (!shape) return [];
  return Object.entries(shape).map(([key, field]) => {
    const dflt = defaultOf(field);
    return {
      key,
      type: describeType(field),
      required: !field.isOptional(),
      ...(dflt.has ? { default: dflt.value } : {}),
    };
  });
}
