import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';

export default defineNode({
  name: 'ModelSamplingAuraFlow',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      shift: { type: 'FLOAT', default: 1.73, min: 0.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: () => {
    throw new WeftError('ModelSamplingAuraFlow is not implemented: AuraFlow models are not supported yet', { type: 'not_implemented' });
  },
});
