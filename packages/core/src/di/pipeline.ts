import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { tf } from '../tf';
import type {
  AggregatorRegistration,
  BackboneRegistration,
  Method,
  MethodRegistration,
  Optimizer,
  OptimizerRegistration,
  Plugin,
  RawOptions,
  Registration,
} from '../contracts';
import {
  ConfigError,
  configSchema,
  isResolvedConfig,
  parseWith,
  splitTypeSpec,
  type SelfsupConfig,
  type SelfsupConfigInput,
} from '../config/schema';
import { corePlugin } from '../plugins/core-plugin';
import { resolveType } from './registry';
import { markParsed } from './define';
import type { SeamName } from '../contracts/tokens';

export interface PipelineOptions {
  /** Plugins providing methods, aggregators, backends... (core's own are always included). */
  plugins?: Plugin[];
  /** Parent container; each pipeline gets its own child of it. */
  container?: DependencyContainer;
  /** Where the config came from, for error messages. */
  source?: string;
}

/** A ready-to-train method with its optimizer, built from config names. */
export interface Pipeline {
  readonly config: SelfsupConfig;
  readonly method: Method;
  readonly optimizer: Optimizer;
  /** Base learning rate (the schedule's peak). */
  readonly baseLr: number;
  readonly container: DependencyContainer;
  dispose(): void;
}

/** A container with core's and the given plugins' registrations, child of `parent`. */
export function createRegistryContainer(plugins: Plugin[] = [], parent: DependencyContainer = rootContainer) {
  const child = parent.createChildContainer();
  for (const plugin of [corePlugin, ...plugins]) plugin.register(child);
  return child;
}

/**
 * The registration of `spec`'s type and its options, parsed here once by its schema (errors
 * name the config key); create takes them as they are.
 */
function resolveWithOptions<R extends Registration<unknown>>(
  container: DependencyContainer,
  seam: SeamName,
  spec: SelfsupConfig['method'],
  key: string,
  source: string,
): { registration: R; options: RawOptions } {
  const { type, options } = splitTypeSpec(spec);
  const registration = resolveType<R>(container, seam, type, `${source}: ${key}`);
  const parsed = registration.optionsSchema
    ? markParsed(
        parseWith(registration.optionsSchema, options, `${source} (${key} '${type}')`, key) as RawOptions,
      )
    : options;
  return { registration, options: parsed };
}

/**
 * Runs a constructor; if it throws half-way (e.g. an option check inside an aggregator), the
 * variables it had already made are owned by nothing, so they are disposed here.
 */
function disposingOnThrow<T>(build: () => T): T {
  const before = new Set(Object.keys(tf.engine().registeredVariables));
  try {
    return build();
  } catch (err) {
    for (const [name, v] of Object.entries(tf.engine().registeredVariables))
      if (!before.has(name)) v.dispose();
    throw err;
  }
}

export function createPipeline(
  input: SelfsupConfigInput | SelfsupConfig,
  opts: PipelineOptions = {},
): Pipeline {
  const source = opts.source ?? 'config';
  const config = isResolvedConfig(input) ? input : parseWith(configSchema, input, source);
  const container = createRegistryContainer(opts.plugins, opts.container);
  const seed = config.train.seed;

  const backbone = resolveWithOptions<BackboneRegistration>(
    container,
    'Backbone',
    config.backbone,
    'backbone',
    source,
  );
  const aggregator = resolveWithOptions<AggregatorRegistration>(
    container,
    'Aggregator',
    config.aggregator,
    'aggregator',
    source,
  );
  const method = resolveWithOptions<MethodRegistration>(container, 'Method', config.method, 'method', source);

  const built = disposingOnThrow(() =>
    method.registration.create(method.options, {
      buildBackbone: () => backbone.registration.create(backbone.options, seed),
      aggregator,
      container,
      seed,
    }),
  );

  try {
    const optimizerSpec = splitTypeSpec(config.optimizer ?? built.defaultOptimizer);
    const { lr, ...optimizerOptions } = optimizerSpec.options;
    const baseLr = lr === undefined ? Number(splitTypeSpec(built.defaultOptimizer).options.lr) : Number(lr);
    if (!Number.isFinite(baseLr) || baseLr <= 0) {
      throw new ConfigError(`${source}: optimizer.lr: got ${JSON.stringify(lr)}; expected a positive number`);
    }
    const optimizer = resolveWithOptions<OptimizerRegistration>(
      container,
      'Optimizer',
      { type: optimizerSpec.type, ...optimizerOptions },
      'optimizer',
      source,
    );
    const opt = optimizer.registration.create(optimizer.options);
    return {
      config,
      method: built,
      optimizer: opt,
      baseLr,
      container,
      dispose() {
        built.dispose();
        opt.dispose();
      },
    };
  } catch (err) {
    built.dispose();
    throw err;
  }
}
