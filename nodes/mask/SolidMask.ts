import { defineNode } from '../../engine/graph/node.ts';
import { solidMask } from '../../engine/tensor/mask.ts';

/** A [1, height, width] mask filled with `value`. */
export default defineNode({
  name: 'SolidMask',
  category: 'mask',
  inputs: {
    required: {
      value: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
      width: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      height: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ value, width, height }) {
    return [solidMask(value, width, height)];
  },
});
