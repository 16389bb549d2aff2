import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** Like ConditioningSetArea with fractions of the latent: `area` is ['percentage', h, w, y, x]. */
export default defineNode({
  name: 'ConditioningSetAreaPercentage',
  displayName: 'Conditioning (Set Area with Percentage)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      width: { type: 'FLOAT', default: 1.0, min: 0, max: 1.0, step: 0.01 },
      height: { type: 'FLOAT', default: 1.0, min: 0, max: 1.0, step: 0.01 },
      x: { type: 'FLOAT', default: 0, min: 0, max: 1.0, step: 0.01 },
      y: { type: 'FLOAT', default: 0, min: 0, max: 1.0, step: 0.01 },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, width, height, x, y, strength }) {
    const area = ['percentage', height, width, y, x];
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { area, strength, set_area_to_bounds: false })];
  },
});
