import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentUpscale',
  displayName: 'Upscale Latent',
  category: 'latent',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      upscale_method: { type: 'COMBO', options: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'] },
      width: { type: 'INT', default: 512, min: 0, max: 16384, step: 8 },
      height: { type: 'INT', default: 512, min: 0, max: 16384, step: 8 },
      crop: { type: 'COMBO', options: ['disabled', 'center'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
