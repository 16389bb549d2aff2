import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentRotate',
  displayName: 'Rotate Latent',
  category: 'latent/transform',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      rotation: { type: 'COMBO', options: ['none', '90 degrees', '180 degrees', '270 degrees'] },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
