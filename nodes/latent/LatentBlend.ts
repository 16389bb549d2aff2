import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentBlend',
  displayName: 'Latent Blend',
  category: '_for_testing',
  inputs: {
    required: {
      samples1: { type: 'LATENT' },
      samples2: { type: 'LATENT' },
      blend_factor: { type: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
