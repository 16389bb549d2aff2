import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent } from '../../engine/tensor/latent.ts';
import { asSdVae, requireModels } from '../../engine/models/sd/index.ts';

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
  run: async ({ samples, vae }, ctx) => {
    checkLatent(samples, 'samples');
    return [await asSdVae(vae).decode(requireModels(ctx.services), samples.samples)];
  },
});
