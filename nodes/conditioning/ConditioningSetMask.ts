import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ConditioningSetMask',
  displayName: 'Conditioning (Set Mask)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      mask: { type: 'MASK' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
      set_cond_area: { type: 'COMBO', options: ['default', 'mask bounds'] },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
});
