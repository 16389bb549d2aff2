/**
 * ESRGAN cases: esrgan_x4_raw (the RRDBNet forward through spandrel's descriptor call, clamped) and
 * esrgan_x4_node (ComfyUI's ImageUpscaleWithModel: tile 512, overlap 32, clamp, NHWC).
 */
import type { CaseHandler, CaseOutcome, CaseTensor, ConformanceCase } from '../types.ts';
import { UpscaleModel, nchwToNhwcClamped, nhwcToNchw, upscaleTiledNchw } from '../../models/esrgan/index.ts';
import type { Tensor } from '../../tensor/tensor.ts';

const models = new Map<string, UpscaleModel>();

function modelFor(path: string): UpscaleModel {
  let m = models.get(path);
  if (!m) {
    m = UpscaleModel.open(path, { threads: 1 });
    models.set(path, m);
  }
  return m;
}

function input(m: Map<string, CaseTensor>, c: ConformanceCase, name: string): Tensor {
  const ref = c.inputs[name];
  const t = ref && m.get(ref.tensor);
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`case ${c.name}: float input "${name}" missing from the vectors file`);
  return { shape: t.shape, data: t.data };
}

export const handler: CaseHandler = {
  topic: 'esrgan',
  match: (c) => c.name.startsWith('esrgan_'),
  async run(c, ctx): Promise<CaseOutcome> {
    const m = await ctx.tensors();
    const model = modelFor(ctx.model('upscale_model'));
    if (c.inputs.image_nchw) return { got: { output_nchw: (await model.run(input(m, c, 'image_nchw'))).data } };
    if (c.inputs.image_nhwc) {
      const raw = await upscaleTiledNchw(model, nhwcToNchw(input(m, c, 'image_nhwc')));
      return { got: { output_raw_nchw: raw.data, image_nhwc: nchwToNhwcClamped(raw).data } };
    }
    return { skip: `case ${c.name}: no image input this handler knows` };
  },
};
