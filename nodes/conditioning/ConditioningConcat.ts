import { defineNode } from '../../engine/graph/node.ts';
import { checkConditioning, concatConditioning } from '../../engine/tensor/conditioning.ts';

/** Appends the first `from` entry's tokens to every `to` entry. */
export default defineNode({
  name: 'ConditioningConcat',
  displayName: 'Conditioning (Concat)',
  category: 'conditioning',
  inputs: {
    required: {
      conditioning_to: { type: 'CONDITIONING' },
      conditioning_from: { type: 'CONDITIONING' },
    },
  },
  outputs: [{ type: 'CONDITIONING' }],
  run({ conditioning_to, conditioning_from }, ctx) {
    checkConditioning(conditioning_to, 'conditioning_to');
    checkConditioning(conditioning_from, 'conditioning_from', true);
    if (conditioning_from.length > 1) ctx.warn('ConditioningConcat: conditioning_from has more than one entry; only the first is used.');
    return [concatConditioning(conditioning_to, conditioning_from)];
  },
});
