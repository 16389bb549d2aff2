import { defineNode } from '../../engine/graph/node.ts';
import { asSdVae, inpaintModelConditioning, requireModels } from '../../engine/models/sd/index.ts';

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
  run: async ({ positive, negative, vae, pixels, mask, noise_mask }, ctx) => {
    const r = await inpaintModelConditioning(requireModels(ctx.services), asSdVae(vae), positive, negative, pixels, mask, noise_mask);
    return [r.positive, r.negative, r.latent];
  },
});
