import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'RepeatImageBatch',
  category: 'image/batch',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      amount: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
