import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentCompositeMasked',
  category: 'latent',
  inputs: {
    required: {
      destination: { type: 'LATENT' },
      source: { type: 'LATENT' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      resize_source: { type: 'BOOLEAN', default: false },
    },
    optional: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
