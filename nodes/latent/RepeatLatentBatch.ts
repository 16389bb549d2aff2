import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'RepeatLatentBatch',
  displayName: 'Repeat Latent Batch',
  category: 'latent/batch',
  inputs: {
    required: {
      samples: { type: 'LATENT' },
      amount: { type: 'INT', default: 1, min: 1, max: 64 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
