import 'reflect-metadata';
export { registerType, listTypes, resolveType, UnknownTypeError } from './registry';
export { createPipeline, createRegistryContainer } from './pipeline';
export type { Pipeline, PipelineOptions } from './pipeline';
export { KNOWN_PROVIDERS } from './known-plugins';
