import { z, type ZodError, type ZodTypeAny } from 'zod';
import { unwrapSchema } from './unwrap-schema';

/** `"byol"` or `{ type: "byol", ...options }` (MMSelfSup-style), normalised to the object form. */
export const typeSpec = z.union([z.string().min(1), z.object({ type: z.string().min(1) }).passthrough()], {
  errorMap: () => ({ message: 'expected a type name (e.g. "byol") or a mapping { type: name, ...options }' }),
});
export type TypeSpec = z.infer<typeof typeSpec>;

export function splitTypeSpec(spec: TypeSpec): { type: string; options: Record<string, unknown> } {
  if (typeof spec === 'string') return { type: spec, options: {} };
  const { type, ...options } = spec;
  return { type, options };
}

export const trainSchema = z
  .object({
    epochs: z.number().int().positive().default(10),
    /** Stop after this many steps in total (overrides epochs when smaller). */
    maxSteps: z.number().int().positive().optional(),
    batchSize: z.number().int().min(2).default(64),
    seed: z.number().int().nonnegative().default(0),
    warmupEpochs: z.number().nonnegative().default(1),
    checkpointEvery: z.number().int().positive().default(1),
    keepCheckpoints: z.number().int().positive().default(3),
    knnEvery: z.number().int().nonnegative().default(1),
    /**
     * Score the alignment maps on the held-out masks (maps_lift, maps_mass, maps_area in
     * metrics.jsonl) every N epochs; 0: never. Unset: every epoch when the method makes maps
     * (LEWEL) and the dataset has object masks (cluttered), else never.
     */
    mapsEvery: z.number().int().nonnegative().optional(),
    /**
     * Data-parallel ranks (worker_threads, this thread included), as PyTorch DDP without SyncBN:
     * the batch is split, gradients are averaged before one optimizer step, BatchNorm normalises
     * per shard and rank 0's running statistics are kept. Results are deterministic per seed and
     * worker count; a run may resume under another count.
     */
    workers: z.number().int().positive().default(1),
    /**
     * Backend threads per rank (the wasm build's pthreads). Default: 1 per rank when workers > 1,
     * else the backend's own default (every core for wasm).
     */
    threads: z.number().int().positive().optional(),
    quiet: z.boolean().default(false),
    /** Extra trainer hooks by registered `type` (a plugin registers them under the Hook seam), run next to the standard ones. */
    hooks: z.array(typeSpec).default([]),
    /**
     * Learning-rate schedule by registered `type` (warmup_cosine, constant, or a plugin's); its
     * baseLr and warmupSteps default to the optimizer's lr and warmupEpochs. Default: warm-up + cosine.
     */
    lrSchedule: typeSpec.optional(),
  })
  .strict();

export const dataSchema = z
  .object({
    dataset: z.string().default('cluttered'),
    /** Folder or file of the dataset (not used by the built-in `cluttered`). */
    path: z.string().optional(),
    imageSize: z.number().int().min(8).default(32),
    /** Images the built-in dataset generates for training. */
    count: z.number().int().positive().default(2048),
    /** Held-out images for kNN / probes (built-in dataset). */
    testCount: z.number().int().positive().default(512),
    numClasses: z.number().int().min(2).max(10).default(10),
    /** Two-view augmentation: defaults to the method's own (byol for BYOL/LEWEL_B, mocov2 for MoCo/LEWEL_M). */
    views: z.string().optional(),
    /**
     * Options of that view pipeline, checked by its own schema (`selfsup info viewpipeline
     * TYPE` lists them), e.g. for `byol` / `mocov2`: scale (the crop's area range), blurSigma;
     * for `two_view`: view1 and view2, lists of transforms. Their output size is always
     * `imageSize`.
     */
    viewOptions: z.record(z.unknown()).optional(),
    onBadImage: z.enum(['skip', 'fail']).default('fail'),
    /**
     * Further options of the dataset type, checked by its own schema (`selfsup info dataset
     * TYPE` lists them), e.g. for `cluttered`: palette, backgroundChroma, objectScale,
     * distractors, objects.
     */
    options: z.record(z.unknown()).optional(),
  })
  .strict();

export const evalSchema = z
  .object({
    knnK: z.number().int().positive().default(20),
    linearEpochs: z.number().int().positive().default(100),
    linearLr: z.number().positive().default(0.05),
  })
  .strict();

export const configSchema = z
  .object({
    /**
     * Plugins to load before anything is built (MMEngine's custom_imports): package names or
     * file paths. The CLI resolves them from the working directory and the config's folder and
     * records file paths absolute in the run's config.yaml, so eval, maps and --resume need no flag.
     */
    plugins: z.array(z.string().min(1)).default([]),
    method: typeSpec,
    backbone: typeSpec.default({ type: 'resnet18', stem: 'cifar', widthMultiplier: 0.25 }),
    aggregator: typeSpec.default('global'),
    /** `{ type: "lars" | "sgd", lr, ...options }`; defaults to the method's own optimizer. */
    optimizer: typeSpec.optional(),
    backend: z.string().optional(),
    train: trainSchema.default({}),
    data: dataSchema.default({}),
    eval: evalSchema.default({}),
  })
  .strict();

export type SelfsupConfig = z.infer<typeof configSchema>;
export type SelfsupConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** One line per problem: key path, the bad value, what was expected. */
export function formatZodError(
  error: ZodError,
  source: string,
  root: unknown,
  pathPrefix = '',
  schema?: ZodTypeAny,
): string {
  const lines = error.issues.map((issue) => {
    const path = [pathPrefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
    const value = getPath(root, issue.path);
    const shown = value === undefined ? 'missing' : JSON.stringify(value);
    if (issue.code === 'unrecognized_keys') {
      const allowed = schema ? objectKeysAt(schema, issue.path) : [];
      const hints = issue.keys.map((k) => {
        const near = allowed.find((a) => editDistance(a, k) <= 2);
        return near ? ` (did you mean '${near}' for '${k}'?)` : '';
      });
      const expected = allowed.length ? `; expected one of ${allowed.join(', ')}` : '';
      return `  ${path}: unknown key(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}${expected}${hints.join('')}`;
    }
    return `  ${path}: got ${shown}; ${issue.message}`;
  });
  return `${source}: invalid config\n${lines.join('\n')}`;
}

/** Keys of a registration's zod object schema (empty if it is not an object schema). */
export function schemaKeys(schema: ZodTypeAny | undefined): Set<string> {
  const shape = (schema as unknown as { shape?: Record<string, unknown> } | undefined)?.shape;
  return new Set(shape ? Object.keys(shape) : []);
}

/** Whether an object schema's `key` may be left out. */
export function isOptionalKey(schema: ZodTypeAny | undefined, key: string): boolean {
  const field = (schema as unknown as { shape?: Record<string, ZodTypeAny> } | undefined)?.shape?.[key];
  return !!field && field.isOptional();
}

/** Keys an object schema accepts at a path (through defaults, optionals and effects). */
function objectKeysAt(schema: ZodTypeAny, path: Array<string | number>): string[] {
  let cur: ZodTypeAny | undefined = schema;
  for (const key of path) {
    const obj = unwrapSchema(cur) as unknown as { shape?: Record<string, ZodTypeAny> } | undefined;
    cur = obj?.shape?.[String(key)];
  }
  const obj = unwrapSchema(cur) as unknown as { shape?: Record<string, ZodTypeAny> } | undefined;
  return obj?.shape ? Object.keys(obj.shape) : [];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

function getPath(root: unknown, path: Array<string | number>): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

export function parseWith<S extends ZodTypeAny>(
  schema: S,
  value: unknown,
  source: string,
  pathPrefix = '',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigError(formatZodError(result.error, source, value, pathPrefix, schema));
  return result.data;
}

const RESOLVED = Symbol.for('selfsup.resolvedConfig');

/**
 * Validates a config and fills in every default: the one parse at the edge. The result is
 * marked, so layers below (createPipeline) take it as it is instead of parsing it again.
 */
export function parseConfig(value: unknown, source = 'config'): SelfsupConfig {
  const config = parseWith(configSchema, value, source);
  Object.defineProperty(config, RESOLVED, { value: true, enumerable: false });
  return config;
}

/** Whether `value` came from parseConfig (and so is complete and valid). */
export function isResolvedConfig(value: unknown): value is SelfsupConfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[RESOLVED] === true;
}
