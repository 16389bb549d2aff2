import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SetLatentNoiseMask',
  displayName: 'Set Latent Noise Mask',
  category: 'latent/inpaint',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
