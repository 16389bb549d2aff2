import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** Sets only `strength`. */
export default defineNode({
  name: 'ConditioningSetAreaStrength',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, strength }) {
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { strength })];
  },
});
