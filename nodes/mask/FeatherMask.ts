import { defineNode } from '../../engine/graph/node.ts';
import { featherMask } from '../../engine/tensor/mask.ts';

/** Linear fades of the given widths on each edge. */
export default defineNode({
  name: 'FeatherMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      left: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      top: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      right: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
      bottom: { type: 'INT', default: 0, min: 0, max: 16384, step: 1 },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask, left, top, right, bottom }) {
    return [featherMask(mask, left, top, right, bottom)];
  },
});
