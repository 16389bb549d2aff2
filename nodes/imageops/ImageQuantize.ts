import { defineNode } from '../../engine/graph/node.ts';
import { quantizeImage } from '../../engine/tensor/quantize.ts';

/** Reduces each image to at most `colors` colours (median cut, like PIL; approximate). */
export default defineNode({
  name: 'ImageQuantize',
  displayName: 'Image Quantize',
  category: 'image/postprocessing',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      colors: { type: 'INT', default: 256, min: 1, max: 256, step: 1 },
      dither: { type: 'COMBO', options: ['none', 'floyd-steinberg', 'bayer-2', 'bayer-4', 'bayer-8', 'bayer-16'] },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, colors, dither }) {
    return [quantizeImage(image, colors, dither)];
  },
});
