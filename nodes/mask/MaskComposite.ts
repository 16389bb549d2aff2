import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'MaskComposite',
  category: 'mask',
  inputs: {
    required: {
      destination: { type: 'MASK' },
      source: { type: 'MASK' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      operation: { type: 'COMBO', options: ['multiply', 'add', 'subtract', 'and', 'or', 'xor'] },
    },
  },
  outputs: [{ type: 'MASK' }],
});
