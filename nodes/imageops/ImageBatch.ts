import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ImageBatch',
  displayName: 'Batch Images',
  category: 'image',
  inputs: {
    required: {
      image1: { type: 'IMAGE' },
      image2: { type: 'IMAGE' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  deprecated: true,
});
