import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ModelSamplingSD3',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      shift: { type: 'FLOAT', default: 3.0, min: 0.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
