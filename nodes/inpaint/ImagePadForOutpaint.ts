import { defineNode } from '../../engine/graph/node.ts';
import { padForOutpaint } from '../../engine/tensor/imageops.ts';

/** Grows the canvas with 0.5 grey; the mask is 1 on the new area and fades quadratically into the image over `feathering` pixels. */
export default defineNode({
  name: 'ImagePadForOutpaint',
  displayName: 'Pad Image for Outpainting',
  category: 'image',
  inputs: {
    required: {
      image: { type: 'IMAGE' },
      left: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      top: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      right: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      bottom: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      feathering: { type: 'INT', default: 40, min: 0, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'IMAGE' }, { type: 'MASK' }],
  run({ image, left, top, right, bottom, feathering }) {
    const { image: padded, mask } = padForOutpaint(image, left, top, right, bottom, feathering);
    return [padded, mask];
  },
});
