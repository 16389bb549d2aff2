import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';

export default defineNode({
  name: 'ModelSamplingSD3',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      shift: { type: 'FLOAT', default: 3.0, min: 0.0, max: 100.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: () => {
    throw new WeftError('ModelSamplingSD3 is not implemented: SD3 models are not supported yet', { type: 'not_implemented' });
  },
});
