import { defineNode } from '../../engine/graph/node.ts';
import { cropMask } from '../../engine/tensor/mask.ts';

/** mask[:, y:y+height, x:x+width], clamped to the mask. */
export default defineNode({
  name: 'CropMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      width: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      height: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask, x, y, width, height }) {
    return [cropMask(mask, x, y, width, height)];
  },
});
