/**
 * What keeps an fp16 FLUX graph finite, following ComfyUI (comfy/ldm/flux/layers.py): when the blocks run in
 * float16 it replaces NaN by 0 and ±inf by ±65504 (torch.nan_to_num; older releases clipped to ±65504) in
 * two places only — the txt stream at the end of every double-stream block and the joint stream at the end
 * of every single-stream block. The img stream of the double blocks is left alone, as there. RMSNorm
 * (QK norm) and RoPE run in float32 there (x.float(), pe is float32), which blocks.ts mirrors with keepFloat32.
 */
import type { GraphBuilder } from '../../onnx/index.ts';

export const FP16_MAX = 65504;

/**
 * nan_to_num(x, 0, ±65504). NaN is found as x ≠ x: ORT's WebGPU EP has no IsNaN kernel (ORT would copy every
 * stream to the CPU and back for it), while Equal runs there and, on lavapipe, is false for NaN. A shader
 * compiler that assumed NaN away would leave only the Clip, which is what older ComfyUI releases did.
 */
export function nanToNumFp16(g: GraphBuilder, x: string): string {
  const clipped = g.op('Clip', [x, g.scalar(-FP16_MAX), g.scalar(FP16_MAX)]);
  return g.op('Where', [g.op('Equal', [x, x]), clipped, g.scalar(0)]);
}
