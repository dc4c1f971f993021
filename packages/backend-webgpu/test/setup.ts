/**
 * Test set-up for the webgpu backend: a software GPU when the machine has one, else one skip
 * line that names what is missing. Every webgpu test file awaits `webgpu` at its top level and
 * wraps its tests in `describe.skipIf(!webgpu.ok)`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebGpuBackendProvider, type WebGpuAvailability } from '../src';
import { findSwiftShaderIcd } from '../src/node-gpu';

export type WebGpuForTests = { ok: true; availability: WebGpuAvailability } | { ok: false; reason: string };

/**
 * Names SwiftShader's Vulkan ICD (Debian's chromium-common) in VK_ICD_FILENAMES when nothing is
 * named yet and it is installed, and gives the Vulkan loader an XDG_RUNTIME_DIR; both before
 * Dawn starts (it reads them once per process). Then probes the backend.
 */
export async function setUpWebGpu(file: string): Promise<WebGpuForTests> {
  if (!process.env.VK_ICD_FILENAMES) {
    const icd = await findSwiftShaderIcd();
    if (icd) process.env.VK_ICD_FILENAMES = icd;
  }
  process.env.XDG_RUNTIME_DIR ||= mkdtempSync(join(tmpdir(), 'selfsup-xdg-'));
  const availability = await new WebGpuBackendProvider().probe();
  if (!availability.available) {
    const reason = availability.reason ?? 'the probe gave no reason';
    console.warn(`SKIP webgpu (${file}): ${reason}`);
    return { ok: false, reason };
  }
  return { ok: true, availability };
}
