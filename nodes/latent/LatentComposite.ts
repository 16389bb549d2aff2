import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'LatentComposite',
  displayName: 'Latent Composite',
  category: 'latent',
  inputs: {
    required: {
      samples_to: { type: 'LATENT' },
      samples_from: { type: 'LATENT' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      feather: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
