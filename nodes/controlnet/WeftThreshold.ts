import { defineNode } from '../../engine/graph/node.ts';
import { thresholdImage } from '../../engine/tensor/preprocess.ts';

/** Per-channel binarisation of a hint image; chain ImageInvert for the opposite polarity. */
export default defineNode({
  name: 'WeftThreshold',
  displayName: 'Threshold Image',
  category: 'image/preprocessors',
  description:
    'Every channel of every pixel becomes 1 where it is above the threshold and 0 elsewhere, e.g. to clean up a ' +
    'hand-made hint; use Invert Image afterwards for the opposite polarity. Depth, normal and pose maps you already ' +
    'have as images need no preprocessor: wire them straight into Apply ControlNet.',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      threshold: { type: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01, tooltip: 'Values strictly above this become 1.' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, threshold }) {
    return [thresholdImage(image, threshold)];
  },
});
