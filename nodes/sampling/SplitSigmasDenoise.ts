import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SplitSigmasDenoise',
  category: 'sampling/sigmas',
  inputs: {
    required: {
      sigmas: { type: 'SIGMAS' },
      denoise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'SIGMAS', name: 'high_sigmas' }, { type: 'SIGMAS', name: 'low_sigmas' }],
});
