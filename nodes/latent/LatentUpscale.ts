import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, latentUpscaleSize } from '../../engine/tensor/latent.ts';
import { CROP_METHODS, LATENT_UPSCALE_METHODS, commonUpscale, type CropMethod, type UpscaleMethod } from '../../engine/tensor/upscale.ts';

/** Resizes to width × height pixels (÷8, each at least 64); a 0 side keeps the aspect ratio, both 0 pass through. */
export default defineNode({
  name: 'LatentUpscale',
  displayName: 'Upscale Latent',
  category: 'latent',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: LATENT_UPSCALE_METHODS },
      width: { type: 'INT', default: 512, min: 0, max: 16384, step: 8 },
      height: { type: 'INT', default: 512, min: 0, max: 16384, step: 8 },
      crop: { type: 'COMBO', options: CROP_METHODS },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, upscale_method, width, height, crop }) {
    const [, , h, w] = checkLatent(samples);
    const size = latentUpscaleSize(h, w, width, height);
    if (!size) return [samples];
    return [{ ...samples, samples: commonUpscale(samples.samples, size.w, size.h, upscale_method as UpscaleMethod, crop as CropMethod) }];
  },
});
