export { CpuBackendProvider, cpuBackendPlugin, cpuBackendRegistration } from './cpu';
export { BACKEND_ENV_VAR, backendProvidersFrom, describeBackends, selectBackend } from './select';
export type { BackendDescription, BackendSource, SelectBackendOptions, SelectedBackend } from './select';
export {
  conv2dBackpropFilterViaConv,
  convStride1,
  cropForPadding,
  checkNhwc,
} from './kernels/conv-filter-grad';
export type { KernelOps, ConvGradAttrs } from './kernels/conv-filter-grad';
export { registerCpuTrainingKernels } from './kernels/cpu-kernels';
