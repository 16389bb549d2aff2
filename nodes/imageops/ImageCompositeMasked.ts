import { defineNode } from '../../engine/graph/node.ts';
import { alphaFix, checkImage, compositeMasked } from '../../engine/tensor/imageops.ts';

/** Pastes source into destination at (x, y), blended by an optional mask resized to the source. */
export default defineNode({
  name: 'ImageCompositeMasked',
  category: 'image',
  inputs: {
    required: {
      destination: { type: 'IMAGE' },
      source: { type: 'IMAGE' },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      resize_source: { type: 'BOOLEAN', default: false },
    },
    optional: {
      mask: { type: 'MASK' },
    },
  },
  outputs: [{ type: 'IMAGE' }],
  run({ destination, source, x, y, resize_source, mask }) {
    checkImage(destination, 'destination');
    checkImage(source, 'source');
    return [compositeMasked(destination, alphaFix(destination, source), x, y, mask, 1, resize_source, 'NHWC')];
  },
});
