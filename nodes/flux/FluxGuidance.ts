import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'FluxGuidance',
  category: 'advanced/conditioning/flux',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      guidance: { type: 'FLOAT', default: 3.5, min: 0.0, max: 100.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
