/**
 * Execution-provider choice. ORT drops an EP this platform's binding lacks with only a warning (the
 * session silently runs on CPU), and throws when a compiled-in EP fails, even with 'cpu' listed after
 * it (research/onnx.md §4) — so candidates are filtered against listSupportedBackends() and tried one
 * at a time, each failure caught and reported. A software Vulkan adapter (lavapipe) runs WebGPU ~15×
 * slower than the CPU EP (§8), so `auto` never prefers it.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, basename } from 'node:path';

export type EpName = 'cpu' | 'webgpu' | 'cuda' | 'dml' | 'coreml';
export type EpSetting = 'auto' | EpName;
export const EP_NAMES: readonly EpName[] = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'];

export interface EpAttempt {
  ep: string;
  /** 'chosen', 'failed' (tried, threw) or 'skipped' (not tried). */
  outcome: 'chosen' | 'failed' | 'skipped';
  reason: string;
}

export type GpuKind = 'hardware' | 'software' | 'none' | 'unknown';

export interface PlatformInfo {
  platform: NodeJS.Platform;
  /** Names from ort.listSupportedBackends(), with whether their libraries ship in the package. */
  backends: Array<{ name: string; bundled: boolean }>;
  gpu: GpuKind;
  gpuReason: string;
  /** The CUDA provider library sits next to the binding (it only comes from ORT's postinstall download). */
  cudaProviderInstalled: boolean;
}

/** Candidates for a setting, in the order to try, plus the providers skipped and why. */
export function candidatesFor(setting: EpSetting, info: PlatformInfo): { candidates: EpName[]; skipped: EpAttempt[] } {
  const has = new Set(info.backends.map((b) => b.name));
  if (setting !== 'auto') {
    // A forced provider is tried even on a software adapter: the user asked for it.
    if (!has.has(setting)) return { candidates: [], skipped: [{ ep: setting, outcome: 'skipped', reason: `not in this platform's onnxruntime-node build (has: ${[...has].join(', ')})` }] };
    return { candidates: [setting], skipped: [] };
  }
  const order: EpName[] = info.platform === 'win32' ? ['cuda', 'dml', 'webgpu'] : info.platform === 'darwin' ? ['webgpu', 'coreml'] : ['cuda', 'webgpu'];
  const candidates: EpName[] = [];
  const skipped: EpAttempt[] = [];
  for (const ep of order) {
    if (!has.has(ep)) { skipped.push({ ep, outcome: 'skipped', reason: `not in this platform's onnxruntime-node build` }); continue; }
    if (ep === 'cuda' && !info.cudaProviderInstalled) { skipped.push({ ep, outcome: 'skipped', reason: 'CUDA provider library not installed (it comes from onnxruntime-node\'s optional download)' }); continue; }
    if (ep === 'webgpu' && (info.gpu === 'software' || info.gpu === 'none')) { skipped.push({ ep, outcome: 'skipped', reason: info.gpuReason }); continue; }
    candidates.push(ep);
  }
  candidates.push('cpu');
  return { candidates, skipped };
}

/**
 * Tries each candidate in order and returns the first that works. `attempt` is injected: the worker
 * passes one that creates a real session, tests pass whatever failure they need.
 */
export async function selectProvider<T>(candidates: readonly string[], attempt: (ep: string) => Promise<T>, skipped: readonly EpAttempt[] = []): Promise<{ ep: string; value: T; attempts: EpAttempt[] }> {
  const attempts: EpAttempt[] = [...skipped];
  for (const ep of candidates) {
    try {
      const value = await attempt(ep);
      attempts.push({ ep, outcome: 'chosen', reason: 'session created' });
      return { ep, value, attempts };
    } catch (e) {
      attempts.push({ ep, outcome: 'failed', reason: oneLine(e) });
    }
  }
  const err = new Error(`no execution provider could run this model: ${attempts.map((a) => `${a.ep} ${a.outcome}: ${a.reason}`).join('; ')}`);
  (err as Error & { attempts?: EpAttempt[] }).attempts = attempts;
  throw err;
}

export function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().slice(0, 500);
}

const SOFTWARE_ICD = /lvp|lavapipe|llvmpipe|swiftshader/i;
// Kernel drivers of real GPUs that have a Vulkan driver. virtio_gpu/vgem/vkms are virtual or display-only.
const HW_DRM = new Set(['i915', 'xe', 'amdgpu', 'radeon', 'nouveau', 'nvidia', 'nvidia-drm', 'msm', 'panfrost', 'panthor', 'v3d', 'asahi', 'powervr']);

/**
 * ORT does not report which WebGPU adapter Dawn picked, so on Linux we look at what Vulkan can see:
 * an explicit ICD list (VK_DRIVER_FILES / VK_ICD_FILENAMES) of only software drivers means software;
 * otherwise a render node backed by a real GPU driver (or /dev/nvidia0 with NVIDIA's ICD) means hardware.
 * Mesa packages install ICD files for every vendor, so the ICD folder alone says nothing.
 */
export function detectGpu(env: NodeJS.ProcessEnv = process.env, root = '/'): { gpu: GpuKind; reason: string } {
  if (process.platform !== 'linux' && root === '/') return { gpu: 'unknown', reason: `${process.platform}: adapter kind not probed` };
  const explicit = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  if (explicit) {
    const files = explicit.split(':').filter(Boolean);
    if (files.length > 0 && files.every((f) => SOFTWARE_ICD.test(basename(f)))) return { gpu: 'software', reason: `only software Vulkan drivers are enabled (${files.map((f) => basename(f)).join(', ')})` };
  }
  const icds = new Set<string>();
  for (const d of ['usr/share/vulkan/icd.d', 'etc/vulkan/icd.d', 'usr/local/share/vulkan/icd.d']) {
    try { for (const f of readdirSync(join(root, d))) icds.add(f); } catch { /* folder absent */ }
  }
  if (icds.size === 0) return { gpu: 'none', reason: 'no Vulkan driver (ICD) installed, so WebGPU has no adapter' };
  if (existsSync(join(root, 'dev/nvidia0')) && [...icds].some((f) => /nvidia/i.test(f))) return { gpu: 'hardware', reason: 'NVIDIA GPU with its Vulkan driver' };
  const drivers: string[] = [];
  try {
    for (const node of readdirSync(join(root, 'sys/class/drm'))) {
      if (!/^renderD\d+$/.test(node)) continue;
      try { drivers.push(basename(readlinkSync(join(root, 'sys/class/drm', node, 'device/driver')))); } catch { /* no driver link */ }
    }
  } catch { /* no DRM */ }
  const hw = drivers.filter((d) => HW_DRM.has(d));
  if (hw.length > 0) return { gpu: 'hardware', reason: `GPU render node (${hw.join(', ')})` };
  const soft = [...icds].filter((f) => SOFTWARE_ICD.test(f));
  if (soft.length > 0) return { gpu: 'software', reason: `no GPU render node${drivers.length ? ` (only ${drivers.join(', ')})` : ''}; Vulkan would use the software driver (${soft.join(', ')}), slower than the CPU provider` };
  return { gpu: 'none', reason: 'no GPU render node' };
}

let cachedInfo: PlatformInfo | undefined;

/** Probes this process once: the binding's backends, the GPU kind, the CUDA provider library. */
export async function platformInfo(): Promise<PlatformInfo> {
  if (cachedInfo) return cachedInfo;
  const ort = await import('onnxruntime-node');
  const backends = ort.listSupportedBackends().map((b) => ({ name: b.name, bundled: b.bundled }));
  const { gpu, reason } = detectGpu();
  let cuda = false;
  try {
    const req = createRequire(import.meta.url);
    const binDir = join(dirname(req.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    cuda = existsSync(join(binDir, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'));
  } catch { /* layout changed: leave CUDA untried */ }
  cachedInfo = { platform: process.platform, backends, gpu, gpuReason: reason, cudaProviderInstalled: cuda };
  return cachedInfo;
}

/** Reads a JSON ICD manifest's library path, for diagnostics. */
export function icdLibrary(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path;
  } catch {
    return undefined;
  }
}
