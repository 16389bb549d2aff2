import { defineNode } from '../../engine/graph/node.ts';

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
});
