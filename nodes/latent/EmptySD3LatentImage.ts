import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'EmptySD3LatentImage',
  category: 'latent/sd3',
  inputs: {
    required: {
      width: { type: 'INT', default: 1024, min: 16, max: 16384, step: 16 },
      height: { type: 'INT', default: 1024, min: 16, max: 16384, step: 16 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
