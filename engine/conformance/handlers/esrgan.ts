/**
 * ESRGAN cases: esrgan_x4_raw (the RRDBNet forward through spandrel's descriptor call, clamped) and
 * esrgan_x4_node (ComfyUI's ImageUpscaleWithModel: tile 512, overlap 32, clamp, NHWC).
 */
import type { CaseHandler, CaseOutcome } from '../types.ts';
import { UpscaleModel, nchwToNhwcClamped, nhwcToNchw, upscaleTiledNchw } from '../../models/esrgan/index.ts';
import { caseTensor } from '../inputs.ts';

const models = new Map<string, UpscaleModel>();

function modelFor(path: string): UpscaleModel {
  let m = models.get(path);
  if (!m) {
    m = UpscaleModel.open(path, { threads: 1 });
    models.set(path, m);
  }
  return m;
}

export const handler: CaseHandler = {
  topic: 'esrgan',
  match: (c) => c.name.startsWith('esrgan_'),
  async run(c, ctx): Promise<CaseOutcome> {
    const m = await ctx.tensors();
    const model = modelFor(ctx.model('upscale_model'));
    if (c.inputs.image_nchw) return { got: { output_nchw: (await model.run(caseTensor(m, c, 'image_nchw'))).data } };
    if (c.inputs.image_nhwc) {
      const raw = await upscaleTiledNchw(model, nhwcToNchw(caseTensor(m, c, 'image_nhwc')));
      return { got: { output_raw_nchw: raw.data, image_nhwc: nchwToNhwcClamped(raw).data } };
    }
    return { skip: `case ${c.name}: no image input this handler knows` };
  },
};
