import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, zeroOutConditioning } from '../../engine/tensor/conditioning.ts';

/** Zeros the tokens and the pooled output, keeping every other option. */
export default defineNode({
  name: 'ConditioningZeroOut',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning }) {
    return [zeroOutConditioning(checkConditioning(conditioning, 'conditioning'))];
  },
});
