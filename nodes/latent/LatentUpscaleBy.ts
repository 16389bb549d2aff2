import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent, latentScaleBySize } from '../../engine/tensor/latent.ts';
import { LATENT_UPSCALE_METHODS, commonUpscale, type UpscaleMethod } from '../../engine/tensor/upscale.ts';

/** Scales each side by scale_by (Python-rounded), no crop. */
export default defineNode({
  name: 'LatentUpscaleBy',
  displayName: 'Upscale Latent By',
  category: 'latent',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: LATENT_UPSCALE_METHODS },
      scale_by: { type: 'FLOAT', default: 1.5, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run({ samples, upscale_method, scale_by }) {
    const [, , h, w] = checkLatent(samples);
    const size = latentScaleBySize(h, w, scale_by);
    return [{ ...samples, samples: commonUpscale(samples.samples, size.w, size.h, upscale_method as UpscaleMethod) }];
  },
});
