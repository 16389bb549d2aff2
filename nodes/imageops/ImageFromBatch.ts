import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageFromBatch',
  category: 'image/batch',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      batch_index: { type: 'INT', default: 0, min: 0, max: 4095 },
      length: { type: 'INT', default: 1, min: 1, max: 4096 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
