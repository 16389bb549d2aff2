import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningZeroOut',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
