import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, setConditioningValues } from '../../engine/tensor/conditioning.ts';

/** Active only between start and end (fractions of the schedule): `start_percent`, `end_percent`. */
export default defineNode({
  name: 'ConditioningSetTimestepRange',
  category: 'advanced/conditioning',
  inputs: {
    required: {
      conditioning: { type: 'CONDITIONING' },
      start: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning, start, end }) {
    return [setConditioningValues(checkConditioning(conditioning, 'conditioning'), { start_percent: start, end_percent: end })];
  },
});
