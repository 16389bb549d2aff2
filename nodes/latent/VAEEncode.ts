import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'VAEEncode',
  displayName: 'VAE Encode',
  category: 'latent',
  inputs: {
    required: {
      pixels: { type: 'IMAGE' },
      vae: { type: 'VAE' },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
