import { defineNode } from '../../engine/graph/node.ts';
import { compositeMasks } from '../../engine/tensor/mask.ts';

/** Combines source into destination at (x, y) with the operation; the result is clamped to [0,1]. */
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
  run({ destination, source, x, y, operation }) {
    return [compositeMasks(destination, source, x, y, operation)];
  },
});
