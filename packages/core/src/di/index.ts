import 'reflect-metadata';
export { registerType, listTypes, resolveType, UnknownTypeError } from './registry';
export { createPipeline, createRegistryContainer } from './pipeline';
export type { Pipeline, PipelineOptions } from './pipeline';
export { defineRegistration, defineAsyncRegistration, markParsed, parseOptions } from './define';
export type { RegistrationSpec } from './define';
export { KNOWN_PROVIDERS } from './known-plugins';
