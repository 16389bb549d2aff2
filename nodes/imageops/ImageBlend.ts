import { defineNode } from '../../engine/graph/node.ts';
import { blendImages } from '../../engine/tensor/imageops.ts';

/** image1·(1 − f) + mode(image1, image2)·f, clamped; image2 is resized (bicubic, centre crop) if its size differs. */
export default defineNode({
  name: 'ImageBlend',
  displayName: 'Image Blend',
  category: 'image/postprocessing',
  inputs: {
    required: {
      image1: { type: 'IMAGE' },
      image2: { type: 'IMAGE' },
      blend_factor: { type: 'FLOAT', default: 0.5, min: 0.0, max: 1.0, step: 0.01 },
      blend_mode: { type: 'COMBO', options: ['normal', 'multiply', 'screen', 'overlay', 'soft_light', 'difference'] },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image1, image2, blend_factor, blend_mode }) {
    return [blendImages(image1, image2, blend_factor, blend_mode)];
  },
});
