export { BaseMethod } from './base-method';
export type { MethodSpec, ViewPair } from './base-method';
export { MomentumMethod } from './momentum-method';
export type { EmaSchedule } from './momentum-method';
export { Encoder } from './encoder';
export { GlobalAggregator, globalAggregatorRegistration } from './global-aggregator';
