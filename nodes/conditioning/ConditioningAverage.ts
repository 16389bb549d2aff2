import { defineNode } from '../../engine/graph/node.ts';
import { averageConditioning, checkConditioning } from '../../engine/tensor/conditioning.ts';

/** conditioning_to·s + conditioning_from·(1 − s), pooled outputs included; only the first `from` entry is used. */
export default defineNode({
  name: 'ConditioningAverage',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_to: { type: 'CONDITIONING' },
      conditioning_from: { type: 'CONDITIONING' },
      conditioning_to_strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_to, conditioning_from, conditioning_to_strength }, ctx) {
    checkConditioning(conditioning_to, 'conditioning_to');
    checkConditioning(conditioning_from, 'conditioning_from', true);
    if (conditioning_from.length > 1) ctx.warn('ConditioningAverage: conditioning_from has more than one entry; only the first is used.');
    return [averageConditioning(conditioning_to, conditioning_from, conditioning_to_strength)];
  },
});
