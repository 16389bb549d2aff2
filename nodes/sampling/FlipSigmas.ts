import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'FlipSigmas',
  category: 'sampling/sigmas',
  inputs: {
    required: {
      sigmas: { type: 'SIGMAS' },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
});
