import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentUpscaleBy',
  displayName: 'Upscale Latent By',
  category: 'latent',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'] },
      scale_by: { type: 'FLOAT', default: 1.5, min: 0.01, max: 8.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
