import { defineNode } from '../../engine/graph/node.ts';
import { WeftError } from '../../engine/errors.ts';

export default defineNode({
  name: 'RescaleCFG',
  category: 'advanced/model',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      multiplier: { type: 'FLOAT', default: 0.7, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'MODEL' }],
  run: () => {
    throw new WeftError('RescaleCFG is not implemented yet (it needs a CFG hook in the sampling module)', { type: 'not_implemented' });
  },
});
