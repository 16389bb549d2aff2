import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningCombine',
  displayName: 'Conditioning (Combine)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_1: { type: 'CONDITIONING' },
      conditioning_2: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
