import { defineNode } from '../../engine/graph/node.ts';
import { asSdVae, requireModels } from '../../engine/models/sd/index.ts';

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
  run: async ({ pixels, vae }, ctx) => [{ samples: await asSdVae(vae).encode(requireModels(ctx.services), pixels) }],
});
