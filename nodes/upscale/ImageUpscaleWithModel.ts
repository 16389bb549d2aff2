import { WeftError } from '../../engine/errors.ts';
import { defineNode } from '../../engine/graph/node.ts';
import { isUpscaleModel, upscaleImageWithModel } from '../../engine/models/esrgan/index.ts';

/** ComfyUI's flow: 512-pixel tiles, 32 overlap, halved on memory errors, progress and abort per tile. */
export default defineNode({
  name: 'ImageUpscaleWithModel',
  displayName: 'Upscale Image (using Model)',
  category: 'image/upscaling',
  inputs: {
    required: {
      upscale_model: { type: 'UPSCALE_MODEL' },
      image: { type: 'IMAGE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  async run({ upscale_model, image }, ctx) {
    if (!isUpscaleModel(upscale_model)) throw new WeftError('upscale_model: expected a model from "Load Upscale Model"', { input: 'upscale_model' });
    return [await upscaleImageWithModel(upscale_model, image, {
      progress: (done, total) => ctx.progress(done, total),
      checkAbort: () => ctx.checkAbort(),
      warn: (message) => ctx.warn(message),
    })];
  },
});
