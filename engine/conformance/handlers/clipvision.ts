/**
 * CLIP vision cases (clipvision_preprocess, clipvision_model_raw, clipvision_encode_*) and full-CLIP
 * similarity (clipsim_*): ComfyUI's clip_preprocess, the vision tower with penultimate states, and
 * image/text cosine similarity with and without exp(logit_scale).
 */
import type { CaseContext, CaseHandler, CaseTensor, ConformanceCase } from '../types.ts';
import { ClipVisionModel } from '../../models/clip-vision/model.ts';
import { cosineMatrix, FullClipModel } from '../../models/clip-vision/full.ts';
import { clipPreprocess } from '../../models/clip-vision/preprocess.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { caseInput } from '../inputs.ts';

const visions = new Map<string, ClipVisionModel>();
const fulls = new Map<string, FullClipModel>();

function vision(path: string): ClipVisionModel {
  let m = visions.get(path);
  if (!m) { m = ClipVisionModel.open(path, { threads: 1 }); visions.set(path, m); }
  return m;
}

function full(path: string): FullClipModel {
  let m = fulls.get(path);
  if (!m) { m = FullClipModel.open(path, { threads: 1 }); fulls.set(path, m); }
  return m;
}

const image = (t: CaseTensor): Tensor => ({ shape: t.shape, data: t.data as Float32Array });

async function run(c: ConformanceCase, ctx: CaseContext): Promise<Record<string, Float32Array>> {
  const m = await ctx.tensors();
  if (c.name === 'clipvision_preprocess') {
    const p = c.params;
    const out: Record<string, Float32Array> = {};
    for (const name of Object.keys(c.inputs)) {
      const tag = name.replace(/^image_/, '').replace(/_nhwc$/, '');
      out[`pixel_values_${tag}`] = clipPreprocess(image(caseInput(m, c, name)), { size: p.size, mean: p.mean, std: p.std }).data;
    }
    return out;
  }
  if (c.name.startsWith('clipvision_')) {
    const v = vision(ctx.model('clip_vision'));
    const o = c.inputs.pixel_values ? await v.encodePixels(image(caseInput(m, c, 'pixel_values'))) : await v.encodeImage(image(caseInput(m, c, 'image_nhwc')), 'center');
    return { last_hidden_state: o.last_hidden_state.data, penultimate_hidden_states: o.penultimate_hidden_states.data, image_embeds: o.image_embeds.data };
  }
  const f = full(ctx.model('clip'));
  const ids = caseInput(m, c, 'token_ids');
  const text = await f.textEmbedsFromIds(ids.data as BigInt64Array, ids.shape[0]!);
  const px = caseInput(m, c, 'pixel_values');
  const img = (await f.vision.encodePixels(image(px))).image_embeds.data;
  const cos = cosineMatrix(img, text, f.dim);
  return { text_embeds: text, image_embeds: img, cosine_image_text: cos, logits_per_image: cos.map((x) => x * f.logitScale) };
}

export const handler: CaseHandler = {
  topic: 'clipvision',
  match: (c) => c.name.startsWith('clipvision_') || c.name.startsWith('clipsim_'),
  async run(c, ctx) {
    return { got: await run(c, ctx) };
  },
};
