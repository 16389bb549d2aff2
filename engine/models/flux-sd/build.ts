/**
 * The DiT graph of a FLUX MODEL, per runtime variant: 'cpu' (float32, CPU op choices) or 'gpu' (fp16 with the
 * WebGPU op choices and ComfyUI's fp16 stream guard, flux/fp16.ts). Both variants come from one weight source:
 * the user's file with the model's LoRA patches over it (the merged side file, reused on the second build),
 * and the same 8/4-bit MatMulNBits side file when the Linears are quantised — ORT's WebGPU EP runs
 * MatMulNBits (8- and 4-bit, with zero points, fp32 and fp16 activations; checked on lavapipe), so a
 * quantised model keeps its codes on the GPU instead of growing to fp16 (24 GB for the 12B models).
 */
import { SafetensorsFile } from '../../io/safetensors.ts';
import { isGgufFile } from '../../io/gguf.ts';
import { buildVariant, type BuiltGraph, type GraphVariant } from '../../runtime/variants.ts';
import { fluxDims, type FluxDims } from '../flux/config.ts';
import { buildFluxGraph } from '../flux/graph.ts';
import { QUANT_PRESETS, quantizableKeys, type FluxQuant } from '../flux/model.ts';
import { asBuilderFile } from '../lora/bridge.ts';
import type { WeightsHook } from '../lora/patches.ts';
import { quantizeSource } from '../lora/quant.ts';
import { openGgufModel } from '../quant/gguf.ts';
import type { QuantizedWeights } from '../quant/linear.ts';

export interface FluxBuildInput {
  path: string;
  /** 8/4-bit block Linears for a safetensors file (a GGUF's own blocks decide for it). */
  quant?: FluxQuant;
  /** The model's LoRA patches as a weight-source hook; absent without LoRA. */
  lora?: WeightsHook;
  /** False drops guidance_in (FluxDisableGuidance on a guidance-distilled model). */
  guidance: boolean;
  cacheDir: string;
}

/** The DiT dimensions and the RAM its session holds (float32, or ~1 byte per weight when quantised). */
export function fluxInfo(input: FluxBuildInput): { dims: FluxDims; sizeBytes: number } {
  const gguf = isGgufFile(input.path);
  const gg = gguf ? openGgufModel(input.path, { cacheDir: input.cacheDir }) : null;
  const file = gg ? (gg.source as unknown as SafetensorsFile) : SafetensorsFile.open(input.path);
  try {
    const dims = fluxDims(file);
    let size = 0;
    for (const [name, t] of file.tensors) if (name.startsWith(dims.prefix)) size += t.shape.reduce((a, b) => a * b, 1) * (input.quant || gguf ? 1 : 4);
    return { dims, sizeBytes: Math.max(size, 1 << 20) };
  } finally {
    file.close();
    (gg?.quant?.file as SafetensorsFile | undefined)?.close();
  }
}

/** Builds the graph of `variant`; every file it opens is closed again (ORT maps the weights by path). */
export function buildFluxVariant(input: FluxBuildInput, variant: GraphVariant): BuiltGraph {
  // A GGUF (ComfyUI-GGUF's files) keeps its Q8_0/Q4_0 blocks as MatMulNBits weights; the file decides the bits.
  const gg = isGgufFile(input.path) ? openGgufModel(input.path, { cacheDir: input.cacheDir }) : null;
  const file = gg ? (gg.source as unknown as SafetensorsFile) : SafetensorsFile.open(input.path);
  let closeQuant: (() => void) | undefined = gg?.quant ? () => (gg.quant!.file as SafetensorsFile).close() : undefined;
  try {
    const dims = fluxDims(file);
    // LoRA-merged tensors come from a side file; every other key from the user's file.
    const src = input.lora ? input.lora(file) : file;
    let q: QuantizedWeights | undefined = gg?.quant;
    if (input.quant && !gg) {
      const s = QUANT_PRESETS[input.quant];
      const r = quantizeSource(src, quantizableKeys(file, dims), s, input.cacheDir);
      closeQuant = r.close;
      q = { file: r.file, bits: s.bits, blockSize: s.blockSize };
    }
    // A guidance-distilled model run without guidance simply skips guidance_in (ComfyUI's guidance=None).
    const graphDims = input.guidance ? dims : { ...dims, guidanceEmbed: false };
    return buildVariant(variant, (ep) => buildFluxGraph(asBuilderFile(src), graphDims, { quant: q, ep }).build());
  } finally {
    file.close();
    closeQuant?.();
  }
}
