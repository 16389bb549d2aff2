import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'VAEDecode',
  displayName: 'VAE Decode',
  category: 'latent',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      vae: { type: 'VAE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
