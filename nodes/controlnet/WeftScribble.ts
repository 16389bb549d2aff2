import { defineNode } from '../../engine/graph/node.ts';
import { scribbleImage } from '../../engine/tensor/preprocess.ts';

/** A drawing → the binary white-on-black strokes that scribble ControlNets were trained on. */
export default defineNode({
  name: 'WeftScribble',
  displayName: 'Scribble (threshold)',
  category: 'image/preprocessors',
  description:
    'Turns a drawing into a binary hint for scribble ControlNets: the grey image becomes 1 where it is above ' +
    'the threshold and 0 elsewhere; invert (on by default) makes dark strokes on light paper into the white-on-black ' +
    'lines those models expect. Depth, normal and pose maps you already have as images need no preprocessor: ' +
    'wire them straight into Apply ControlNet.',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      threshold: { type: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01, tooltip: 'Grey values strictly above this become white (before invert).' },
      invert: { type: 'BOOLEAN', default: true, tooltip: 'On for dark strokes on a light background; off for light strokes on dark.' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ image, threshold, invert }) {
    return [scribbleImage(image, threshold, invert)];
  },
});
