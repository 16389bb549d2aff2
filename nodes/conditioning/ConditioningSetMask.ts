import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';
import { asMask3 } from '../../engine/tensor/mask.ts';

/** Restricts the conditioning to a mask ([B,H,W]); 'mask bounds' also crops sampling to the mask's bounding box. */
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
  run({ conditioning, mask, strength, set_cond_area }) {
    const values = { mask: asMask3(mask), set_area_to_bounds: set_cond_area !== 'default', mask_strength: strength };
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), values)];
  },
});
