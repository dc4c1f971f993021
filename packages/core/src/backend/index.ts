export { CpuBackendProvider, cpuBackendPlugin, cpuBackendRegistration } from './cpu';
export { BACKEND_ENV_VAR, backendProvidersFrom, describeBackends, selectBackend } from './select';
export type { BackendDescription, BackendSource, SelectBackendOptions, SelectedBackend } from './select';
