export { BaseMethod, l2normalize } from './base-method';
export type { HeadSpec } from './base-method';
export { Encoder } from './encoder';
export { GlobalAggregator, globalAggregatorRegistration } from './global-aggregator';
