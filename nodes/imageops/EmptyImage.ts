import { defineNode } from '../../engine/graph/node.ts';
import { emptyImage } from '../../engine/tensor/imageops.ts';

/** A batch of images filled with `color` (0xRRGGBB). */
export default defineNode({
  name: 'EmptyImage',
  category: 'image',
  inputs: {
    required: {
      width: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      height: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      batch_size: { type: 'INT', default: 1, min: 1, max: 4096 },
      color: { type: 'INT', default: 0, min: 0, max: 16777215, step: 1, display: 'color' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ width, height, batch_size, color }) {
    return [emptyImage(width, height, batch_size, color)];
  },
});
