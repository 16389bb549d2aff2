import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'BasicGuider',
  displayName: 'Basic Guider',
  category: 'sampling/guiders',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'GUIDER' }],
});
