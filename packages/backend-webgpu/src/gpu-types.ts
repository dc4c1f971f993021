/**
 * The few WebGPU types this package touches, declared here so that it needs neither the DOM lib
 * nor @webgpu/types. They are structural subsets of the standard interfaces: a browser's
 * navigator.gpu and Dawn's (npm `webgpu`) both satisfy them.
 */

export interface GpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  /** Newer implementations (Chrome 131+, Dawn 2025) report it here ... */
  readonly isFallbackAdapter?: boolean;
}

export interface GpuDeviceLike {
  destroy(): void;
  readonly lost?: Promise<{ reason?: string; message?: string }>;
}

export interface GpuAdapterLike {
  /** ... older ones here. */
  readonly isFallbackAdapter?: boolean;
  readonly info?: GpuAdapterInfoLike;
  readonly features: { has(name: string): boolean };
  readonly limits: Record<string, number>;
  requestAdapterInfo?(): Promise<GpuAdapterInfoLike>;
  requestDevice(descriptor?: {
    requiredFeatures?: string[];
    requiredLimits?: Record<string, number>;
  }): Promise<GpuDeviceLike>;
}

export interface GpuLike {
  requestAdapter(options?: {
    powerPreference?: 'low-power' | 'high-performance';
    forceFallbackAdapter?: boolean;
  }): Promise<GpuAdapterLike | null>;
}
