import { defineNode } from '../../engine/graph/node.ts';
import { colorMask } from '../../engine/tensor/mask.ts';

/** 1 where the pixel's 8-bit colour equals `color` (0xRRGGBB), else 0. */
export default defineNode({
  name: 'ImageColorToMask',
  category: 'mask',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      color: { type: 'INT', default: 0, min: 0, max: 16777215, step: 1, display: 'color' },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ image, color }) {
    return [colorMask(image, color)];
  },
});
