import { defineNode } from '../../engine/graph/node.ts';
import { blurImage } from '../../engine/tensor/filters.ts';

/** Gaussian blur with ComfyUI's kernel (sigma relative to the radius) and reflect padding. */
export default defineNode({
  name: 'ImageBlur',
  displayName: 'Image Blur',
  category: 'image/postprocessing',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      blur_radius: { type: 'INT', default: 1, min: 1, max: 31, step: 1 },
      sigma: { type: 'FLOAT', default: 1.0, min: 0.1, max: 10.0, step: 0.1 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, blur_radius, sigma }) {
    return [blurImage(image, blur_radius, sigma)];
  },
});
