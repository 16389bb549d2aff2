import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'Canny',
  category: 'image/preprocessors',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      low_threshold: { type: 'FLOAT', default: 0.4, min: 0.01, max: 0.99, step: 0.01 },
      high_threshold: { type: 'FLOAT', default: 0.8, min: 0.01, max: 0.99, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
});
