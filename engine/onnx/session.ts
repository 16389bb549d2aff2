/**
 * In-thread ORT session creation from builder output. The runtime wraps this in worker threads
 * (run() blocks the JS thread); tests and the conformance runner call it directly.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { WeftError, errorMessage } from '../errors.ts';
import type { GraphBuilder } from './builder.ts';

export interface SessionOptions {
  threads?: number;
  /** 'extended' is the measured sweet spot on CPU ('all' adds a 40 s NCHWc weight re-layout for no gain). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Skip MatMul weight prepacking: 0.7 s instead of ~5 s to open a UNet, ~10–25% slower steps. */
  fastStart?: boolean;
  executionProviders?: ort.InferenceSession.SessionOptions['executionProviders'];
  label?: string;
  /** Errors only: a WebGPU session always warns that ORT put the shape ops on the CPU. */
  quiet?: boolean;
}

export function sessionOptions(weightsDir: string, opts: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const session: Record<string, string> = {
    model_external_initializers_file_folder_path: weightsDir,
    'intra_op.allow_spinning': '0',
  };
  if (opts.fastStart) session.disable_prepacking = '1';
  return {
    executionProviders: opts.executionProviders ?? ['cpu'],
    graphOptimizationLevel: opts.optimization ?? 'extended',
    intraOpNumThreads: opts.threads ?? Math.max(1, availableParallelism()),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: false,
    extra: { session },
    ...(opts.quiet ? { logSeverityLevel: 3 as const } : {}),
  };
}

export async function createSession(bytes: Uint8Array, weightsDir: string, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(weightsDir, opts));
  } catch (e) {
    throw new WeftError(`could not create an ONNX Runtime session${opts.label ? ` for ${opts.label}` : ''} (weights folder ${weightsDir}): ${errorMessage(e)}`, { type: 'model_load_error', details: errorMessage(e) });
  }
}

/** Convenience: build and open in one go. */
export async function sessionFor(g: GraphBuilder, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  const { bytes, weightsDir } = g.build();
  return createSession(bytes, weightsDir, { label: g.name, ...opts });
}

/** Runs a session on float32/int64 feeds and returns float32 outputs by name. */
export async function runFloat(
  s: ort.InferenceSession,
  feeds: Record<string, { data: Float32Array | BigInt64Array | Int32Array; dims: readonly number[] }>,
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) {
    const type = v.data instanceof Float32Array ? 'float32' : v.data instanceof BigInt64Array ? 'int64' : 'int32';
    f[k] = new ort.Tensor(type, v.data, [...v.dims]);
  }
  const r = await s.run(f);
  const out: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const [k, t] of Object.entries(r)) out[k] = { data: t.data as Float32Array, dims: [...t.dims] };
  return out;
}
