import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'FluxDisableGuidance',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
