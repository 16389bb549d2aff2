import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentFlip',
  displayName: 'Flip Latent',
  category: 'latent/transform',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      flip_method: { type: 'COMBO', options: ['x-axis: vertically', 'y-axis: horizontally'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
