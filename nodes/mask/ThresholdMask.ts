import { defineNode } from '../../engine/graph/node.ts';
import { thresholdMask } from '../../engine/tensor/mask.ts';

/** 1 where mask > value, else 0. */
export default defineNode({
  name: 'ThresholdMask',
  category: 'mask',
  inputs: {
    required: {
      mask: { type: 'MASK' },
      value: { type: 'FLOAT', default: 0.5, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MASK' }],
  run({ mask, value }) {
    return [thresholdMask(mask, value)];
  },
});
