import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningSetTimestepRange',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      start: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
