import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** Restricts the conditioning to a rectangle: `area` is [h, w, y, x] in latent pixels (÷8). */
export default defineNode({
  name: 'ConditioningSetArea',
  displayName: 'Conditioning (Set Area)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      width: { type: 'INT', default: 64, min: 64, max: 16384, step: 8 },
      height: { type: 'INT', default: 64, min: 64, max: 16384, step: 8 },
      x: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      y: { type: 'INT', default: 0, min: 0, max: 16384, step: 8 },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, width, height, x, y, strength }) {
    const area = [Math.floor(height / 8), Math.floor(width / 8), Math.floor(y / 8), Math.floor(x / 8)];
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { area, strength, set_area_to_bounds: false })];
  },
});
