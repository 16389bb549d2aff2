import { defineNode } from '../../engine/graph/node.ts';
import { sharpenImage } from '../../engine/tensor/filters.ts';

/** Unsharp mask: image + 10·alpha·(image − blur(image)), clamped. */
export default defineNode({
  name: 'ImageSharpen',
  displayName: 'Image Sharpen',
  category: 'image/postprocessing',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      sharpen_radius: { type: 'INT', default: 1, min: 1, max: 31, step: 1 },
      sigma: { type: 'FLOAT', default: 1.0, min: 0.1, max: 10.0, step: 0.01 },
      alpha: { type: 'FLOAT', default: 1.0, min: 0.0, max: 5.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, sharpen_radius, sigma, alpha }) {
    return [sharpenImage(image, sharpen_radius, sigma, alpha)];
  },
});
