import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningSetAreaStrength',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
