import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningConcat',
  displayName: 'Conditioning (Concat)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_to: { type: 'CONDITIONING' },
      conditioning_from: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
