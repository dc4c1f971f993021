import 'reflect-metadata';
export { tf } from './tf';
export * from './contracts';
export { Tokens } from './contracts/tokens';
export type { SeamName } from './contracts/tokens';
export { Module } from './nn/module';
export type { StateEntry, TorchLayout } from './nn/module';
export { SeededRng } from './util/random';
