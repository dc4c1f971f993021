import type { z, ZodTypeAny } from 'zod';
import type { RawOptions, Registration } from '../contracts';

/** Option objects that came out of a registration's schema: its create takes them as they are. */
const parsedOptions = new WeakSet<object>();

/** Marks options as parsed by their registration's schema, so create does not parse them again. */
export function markParsed<T>(options: T): T {
  if (options !== null && typeof options === 'object') parsedOptions.add(options);
  return options;
}

/** One message naming the registration and each bad key: `what: invalid options: key: problem; ...`. */
export function parseOptions<S extends ZodTypeAny>(schema: S, options: unknown, what: string): z.output<S> {
  const result = schema.safeParse(options ?? {});
  if (!result.success) {
    const issues = result.error.issues
      .map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`)
      .join('; ');
    throw new Error(`${what}: invalid options: ${issues}`);
  }
  return markParsed(result.data);
}

export interface RegistrationSpec<S extends ZodTypeAny, A extends unknown[], R> {
  type: string;
  plugin: string;
  description?: string;
  optionsSchema: S;
  /** Gets the options parsed by optionsSchema: typed, defaults filled in, unknown keys refused. */
  create: (options: z.output<S>, ...args: A) => R;
}

/**
 * A registration whose create receives typed, parsed options (`z.infer` of its schema). Options
 * the pipeline already parsed (markParsed) pass straight through; raw ones, e.g. from code
 * calling create directly, are parsed here, once.
 */
export function defineRegistration<S extends ZodTypeAny, A extends unknown[], R>(
  spec: RegistrationSpec<S, A, R>,
): Registration<(options?: RawOptions, ...args: A) => R, S> {
  const what = `'${spec.type}' (${spec.plugin})`;
  return {
    type: spec.type,
    plugin: spec.plugin,
    description: spec.description,
    optionsSchema: spec.optionsSchema,
    create: (options, ...args) =>
      spec.create(
        options !== undefined && parsedOptions.has(options)
          ? (options as z.output<S>)
          : parseOptions(spec.optionsSchema, options, what),
        ...args,
      ),
  };
}

/**
 * defineRegistration for a create that returns a promise (datasets): bad options reject the
 * promise, like any other failure to load.
 */
export function defineAsyncRegistration<S extends ZodTypeAny, A extends unknown[], R>(
  spec: RegistrationSpec<S, A, Promise<R>>,
): Registration<(options?: RawOptions, ...args: A) => Promise<R>, S> {
  const sync = defineRegistration(spec);
  return { ...sync, create: async (options, ...args) => sync.create(options, ...args) };
}
