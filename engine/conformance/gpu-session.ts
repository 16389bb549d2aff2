/**
 * WebGPU sessions for the GPU conformance mode and the GPU tests: the adapter probe, a quiet session and a
 * build-run-release helper. Split from gpu.ts so the per-family runs (gpu-flux.ts) can share them.
 */
import * as ort from 'onnxruntime-node';
import { errorMessage } from '../errors.ts';
import { GraphBuilder, runFloat, sessionOptions } from '../onnx/index.ts';
import { buildWithDtype, type FloatDtype } from '../onnx/precision.ts';
import type { CaseTensor, ConformanceCase } from './types.ts';

/** A WebGPU session; warnings off because ORT always warns that shape ops were placed on the CPU. */
export async function webgpuSession(bytes: Uint8Array, weightsDir: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { ...sessionOptions(weightsDir, { executionProviders: ['webgpu'], threads: 1 }), logSeverityLevel: 3 });
}

let probed: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

/** Whether this process can create and run a WebGPU session (needs a Vulkan/Metal/D3D12 adapter). */
export function probeWebGpu(): Promise<{ ok: true } | { ok: false; reason: string }> {
  probed ??= (async () => {
    if (!ort.listSupportedBackends().some((b) => b.name === 'webgpu')) return { ok: false as const, reason: `this onnxruntime-node build has no webgpu provider` };
    try {
      const g = new GraphBuilder({ name: 'webgpu_probe', ep: 'webgpu' });
      g.output(g.op('Add', [g.input('x', 'float32', [4]), g.scalar(1)]), 'y', 'float32', [4]);
      const s = await webgpuSession(g.toBytes(), process.cwd());
      const r = await runFloat(s, { x: { data: Float32Array.of(1, 2, 3, 4), dims: [4] } });
      await s.release();
      if (r.y!.data[3] !== 5) return { ok: false as const, reason: `webgpu probe computed ${Array.from(r.y!.data).join(', ')} for x+1` };
      return { ok: true as const };
    } catch (e) {
      return { ok: false as const, reason: `webgpu session failed: ${errorMessage(e).split('\n')[0]}` };
    }
  })();
  return probed;
}

/** A case's model file for a role (`models` in cases.json), as an absolute path. */
export type ModelPath = (role: string) => string;

/** One model-call case on the webgpu graph at `dtype`: returns the outputs by expected-tensor name. */
export type Run = (c: ConformanceCase, m: Map<string, CaseTensor>, model: ModelPath, dtype: FloatDtype) => Promise<Record<string, Float32Array>>;

/** Builds with `dtype`, opens on webgpu, runs once, releases (sessions are small; lavapipe caches shaders). */
export async function runGraph(build: () => { bytes: Uint8Array; weightsDir: string }, dtype: FloatDtype, feeds: Parameters<typeof runFloat>[1]) {
  const { bytes, weightsDir } = buildWithDtype(dtype, build);
  const s = await webgpuSession(bytes, weightsDir);
  try {
    return await runFloat(s, feeds);
  } finally {
    await s.release();
  }
}
