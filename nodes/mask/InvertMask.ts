import { defineNode } from '../../engine/graph/node.ts';
import { invertMask } from '../../engine/tensor/mask.ts';

/** 1 − mask. */
export default defineNode({
  name: 'InvertMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask }) {
    return [invertMask(mask)];
  },
});
