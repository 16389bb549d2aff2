/**
 * Which graph a provider's session gets. The CPU EP wants float32 with CPU op choices (FusedMatMul, other
 * com.microsoft CPU kernels); a GPU EP wants the graph fp16 end to end with GPU op choices (research/onnx.md §3,
 * §8). Model code builds both from one builder: `buildVariant('gpu', (ep) => …)` passes `ep: 'webgpu'` and
 * builds under `buildWithDtype('float16')`. A model whose activations do not fit fp16 builds its GPU graph
 * with the WebGPU op choices in float32 instead (T5: t5/encoder.ts).
 *
 * CUDA, DirectML and CoreML share the WebGPU variant for now: it only avoids CPU-only contrib ops, which every
 * GPU EP can run, and ORT places any node an EP lacks on the CPU EP. Per-EP variants (CUDA's fused
 * GroupNorm/BiasSplitGelu, NhwcConv) can later be added by giving those EPs their own builder here.
 *
 * Variants are built lazily: ModelService resolves a provider's graph only right before trying that provider,
 * and each builder runs at most once per spec (memoised), so a forced-CPU service never builds an fp16 graph
 * and a session that lands on WebGPU never builds a second GPU graph for the next candidate.
 */
import type { Ep } from '../onnx/builder.ts';
import { buildWithDtype, type FloatDtype } from '../onnx/precision.ts';
import type { EpName } from './providers.ts';

export interface BuiltGraph { bytes: Uint8Array; weightsDir: string }

/** Graph bytes, or a builder the service calls when (and only when) the provider needs that graph. */
export type GraphSource = Uint8Array | (() => BuiltGraph);

export type GraphVariant = 'cpu' | 'gpu';

export const GPU_EPS: readonly EpName[] = ['webgpu', 'cuda', 'dml', 'coreml'];

/** Builder settings of a variant. */
export const VARIANT_BUILD: Record<GraphVariant, { ep: Ep; dtype: FloatDtype }> = {
  cpu: { ep: 'cpu', dtype: 'float32' },
  gpu: { ep: 'webgpu', dtype: 'float16' },
};

export function variantOf(ep: string): GraphVariant {
  return (GPU_EPS as readonly string[]).includes(ep) ? 'gpu' : 'cpu';
}

/** Runs a (synchronous) model build with the variant's op choices and float type. */
export function buildVariant<T>(variant: GraphVariant, build: (ep: Ep) => T): T {
  const v = VARIANT_BUILD[variant];
  return buildWithDtype(v.dtype, () => build(v.ep));
}

/** Memoises a builder: the first call builds, later calls (a reload after eviction) reuse the bytes. */
export function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) { value = fn(); done = true; }
    return value;
  };
}

/** `graphByEp` giving every GPU provider the same lazily built GPU graph. */
export function gpuGraphs(build: () => BuiltGraph): Partial<Record<EpName, GraphSource>> {
  const shared = once(build);
  return Object.fromEntries(GPU_EPS.map((ep) => [ep, shared]));
}

/** Bytes and weights folder of one source; `weightsDir` is the spec's folder, used for plain bytes. */
export function resolveSource(src: GraphSource, weightsDir: string | undefined, what: string): BuiltGraph {
  if (src instanceof Uint8Array) {
    if (weightsDir === undefined) throw new Error(`${what}: graph bytes were given without a weightsDir`);
    return { bytes: src, weightsDir };
  }
  return src();
}
