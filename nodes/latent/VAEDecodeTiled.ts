import { defineNode } from '../../engine/graph/node.ts';
import { checkLatent } from '../../engine/tensor/latent.ts';
import { asSdVae, requireModels } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'VAEDecodeTiled',
  displayName: 'VAE Decode (Tiled)',
  category: '_for_testing',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      vae: { type: 'VAE' },
      tile_size: { type: 'INT', default: 512, min: 64, max: 4096, step: 32 },
      overlap: { type: 'INT', default: 64, min: 0, max: 4096, step: 32 },
      temporal_size: { type: 'INT', default: 64, min: 8, max: 4096, step: 4 },
      temporal_overlap: { type: 'INT', default: 8, min: 4, max: 4096, step: 4 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  // Sizes are pixels; the VAE works on latent cells (÷8). Video (temporal) tiling does not apply to image VAEs.
  run: async ({ samples, vae, tile_size, overlap }, ctx) => {
    checkLatent(samples, 'samples');
    const ov = tile_size < overlap * 4 ? Math.floor(tile_size / 4) : overlap;
    return [await asSdVae(vae).decodeTiled(requireModels(ctx.services), samples.samples, Math.floor(tile_size / 8), Math.floor(ov / 8), ctx.signal)];
  },
});
