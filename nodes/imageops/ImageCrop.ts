import { defineNode } from '../../engine/graph/node.ts';
import { cropImage } from '../../engine/tensor/imageops.ts';

/** A width × height window at (x, y); x and y are kept inside the image. */
export default defineNode({
  name: 'ImageCrop',
  displayName: 'Image Crop',
  category: 'image/transform',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      width: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      height: { type: 'INT', default: 512, min: 1, max: 16384, step: 1 },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, width, height, x, y }) {
    return [cropImage(image, width, height, x, y)];
  },
});
