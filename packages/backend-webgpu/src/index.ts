import { defineRegistration, registerType, z, type BackendRegistration, type Plugin } from '@selfsup/core';
import { WebGpuBackendProvider } from './provider';

export {
  WebGpuBackendProvider,
  WEBGPU_BACKEND,
  TFJS_WEBGPU_PACKAGE,
  describeAdapter,
  formatAdapter,
  releaseWebGpu,
} from './provider';
export {
  registerWebGpuTrainingKernels,
  unregisterWebGpuTrainingKernels,
  webgpuTrainingKernels,
} from './kernels';
export type { AdapterDescription, WebGpuAvailability } from './provider';
export type { GpuAdapterInfoLike, GpuAdapterLike, GpuDeviceLike, GpuLike } from './gpu-types';

const PLUGIN = '@selfsup/backend-webgpu';

export const webgpuBackendRegistration: BackendRegistration = defineRegistration({
  type: 'webgpu',
  plugin: PLUGIN,
  description: 'WebGPU: Vulkan, Metal or D3D12 through Dawn in Node (npm webgpu), or the browser',
  optionsSchema: z.object({}).strict(),
  create: () => new WebGpuBackendProvider(),
});

/** Makes `webgpu` selectable; nothing is loaded until the backend is probed. */
export const webgpuBackendPlugin: Plugin = {
  name: PLUGIN,
  register(container) {
    registerType(container, 'Backend', webgpuBackendRegistration);
  },
};

export default webgpuBackendPlugin;
