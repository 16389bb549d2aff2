import { defineNode } from '../../engine/graph/node.ts';
import { invertImage } from '../../engine/tensor/image.ts';

/** 1 − image (ComfyUI's ImageInvert). */
export const ImageInvert = defineNode({
  name: 'ImageInvert',
  displayName: 'Invert Image',
  category: 'image',
  inputs: { required: { image: { type: 'IMAGE' } } },
  outputs: [{ type: 'IMAGE' }],
  run({ image }) {
    return [invertImage(image)];
  },
});
