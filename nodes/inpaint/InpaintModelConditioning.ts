import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'InpaintModelConditioning',
  category: 'conditioning/inpaint',
  inputs: {
    required: {
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      vae: { type: 'VAE' },
      pixels: { type: 'IMAGE' },
      mask: { type: 'MASK' },
      noise_mask: { type: 'BOOLEAN', default: true },
    },
  },
  outputs: [{ type: 'CONDITIONING', name: 'positive' }, { type: 'CONDITIONING', name: 'negative' }, { type: 'LATENT', name: 'latent' }],
});
