import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, combineConditioning } from '../../engine/tensor/conditioning.ts';

/** Both lists together: the sampler runs each entry and averages them by area. */
export default defineNode({
  name: 'ConditioningCombine',
  displayName: 'Conditioning (Combine)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_1: { type: 'CONDITIONING' },
      conditioning_2: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_1, conditioning_2 }) {
    return [combineConditioning(checkConditioning(conditioning_1, 'conditioning_1'), checkConditioning(conditioning_2, 'conditioning_2'))];
  },
});
