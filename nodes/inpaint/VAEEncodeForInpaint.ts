import { defineNode } from '../../engine/graph/node.ts';
import { asSdVae, encodeForInpaint, requireModels } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'VAEEncodeForInpaint',
  displayName: 'VAE Encode (for Inpainting)',
  category: 'latent/inpaint',
  inputs: {
    required: {
      pixels: { type: 'IMAGE' },
      vae: { type: 'VAE' },
      mask: { type: 'MASK' },
      grow_mask_by: { type: 'INT', default: 6, min: 0, max: 64, step: 1 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run: async ({ pixels, vae, mask, grow_mask_by }, ctx) => [await encodeForInpaint(requireModels(ctx.services), asSdVae(vae), pixels, mask, grow_mask_by)],
});
