import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'FreeU_V2',
  category: 'model_patches/unet',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      b1: { type: 'FLOAT', default: 1.3, min: 0.0, max: 10.0, step: 0.01 },
      b2: { type: 'FLOAT', default: 1.4, min: 0.0, max: 10.0, step: 0.01 },
      s1: { type: 'FLOAT', default: 0.9, min: 0.0, max: 10.0, step: 0.01 },
      s2: { type: 'FLOAT', default: 0.2, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
});
