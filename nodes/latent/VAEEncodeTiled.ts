import { defineNode } from '../../engine/graph/node.ts';
import { asSdVae, requireModels } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'VAEEncodeTiled',
  displayName: 'VAE Encode (Tiled)',
  category: '_for_testing',
  inputs: {
    required: {
      pixels: { type: 'IMAGE' },
      vae: { type: 'VAE' },
      tile_size: { type: 'INT', default: 512, min: 64, max: 4096, step: 64 },
      overlap: { type: 'INT', default: 64, min: 0, max: 4096, step: 32 },
      temporal_size: { type: 'INT', default: 64, min: 8, max: 4096, step: 4 },
      temporal_overlap: { type: 'INT', default: 8, min: 4, max: 4096, step: 4 },
    },
  },
  outputs: [{ type: 'LATENT' }],
  run: async ({ pixels, vae, tile_size, overlap }, ctx) => [{ samples: await asSdVae(vae).encodeTiled(requireModels(ctx.services), pixels, tile_size, overlap, ctx.signal) }],
});
