import { defineNode } from '../../engine/graph/node.ts';
import { growMask } from '../../engine/tensor/mask.ts';

/** Grows (expand > 0) or shrinks the mask one 3×3 step per unit; tapered corners drop the diagonals. */
export default defineNode({
  name: 'GrowMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      expand: { type: 'INT', default: 0, min: -16384, max: 16384, step: 1 },
      tapered_corners: { type: 'BOOLEAN', default: true },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask, expand, tapered_corners }) {
    return [growMask(mask, expand, tapered_corners)];
  },
});
