import { defineNode } from '../../engine/graph/node.ts';
import { maskToImage } from '../../engine/tensor/mask.ts';

/** The mask as a grey RGB image. */
export default defineNode({
  name: 'MaskToImage',
  displayName: 'Convert Mask to Image',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ mask }) {
    return [maskToImage(mask)];
  },
});
