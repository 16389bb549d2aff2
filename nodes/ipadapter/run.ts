/**
 * What IPAdapter and IPAdapterAdvanced share: pick the adapter and CLIP vision model, encode the image
 * tokens, patch a clone of the model.
 */
import { WeftError } from '../../engine/errors.ts';
import type { NodeContext } from '../../engine/graph/context.ts';
import { asClipVision } from '../../engine/models/clip-vision/index.ts';
import { applyIpAdapter, asIpAdapter, encodeImageTokens, type CombineEmbeds, type EmbedsScaling, type WeightType } from '../../engine/models/ipadapter/index.ts';
import { asSdModel, type SdModel } from '../../engine/models/sd/model.ts';
import type { Tensor } from '../../engine/tensor/tensor.ts';

export interface IpAdapterNodeInputs {
  model: unknown;
  ipadapter: unknown;
  image: Tensor;
  weight: number;
  /** Combo values: validation has checked them against the node's lists. */
  weight_type: string;
  combine_embeds?: string;
  start_at: number;
  end_at: number;
  embeds_scaling?: string;
  image_negative?: Tensor;
  attn_mask?: Tensor;
  clip_vision?: unknown;
}

export async function runIpAdapter(i: IpAdapterNodeInputs, ctx: NodeContext): Promise<SdModel> {
  const model = asSdModel(i.model);
  const ip = asIpAdapter(i.ipadapter);
  const cv = i.clip_vision ?? ip.clipVision;
  if (!cv) throw new WeftError('Missing CLIPVision model: connect a CLIP vision loader to clip_vision', { input: 'clip_vision' });
  const tokens = await encodeImageTokens(ip.model, asClipVision(cv), i.image, { imageNegative: i.image_negative, combine: (i.combine_embeds ?? 'concat') as CombineEmbeds, models: ctx.services.models });
  return applyIpAdapter(model, ip.model, tokens, { weight: i.weight, weightType: i.weight_type as WeightType, startAt: i.start_at, endAt: i.end_at, embedsScaling: i.embeds_scaling as EmbedsScaling | undefined, attnMask: i.attn_mask });
}
