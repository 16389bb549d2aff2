import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'EmptyLatentImage',
  displayName: 'Empty Latent Image',
  category: 'latent',
  inputs: {
    required: {
      width: { type: 'INT', default: 512, min: 16, max: 16384, step: 8 },
      height: { type: 'INT', default: 512, min: 16, max: 16384, step: 8 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'LATENT' }],
});
