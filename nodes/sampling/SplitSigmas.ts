import { defineNode } from '../../engine/graph/node.ts';
import { sigmasOf, sigmasTensor, splitSigmas } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'SplitSigmas',
  category: 'sampling/sigmas',
  inputs: {
    required: {
      sigmas: { type: 'SIGMAS' },
      step: { type: 'INT', default: 0, min: 0, max: 10000 },
    },
  },
  outputs: [{ type: 'SIGMAS', name: 'high_sigmas' }, { type: 'SIGMAS', name: 'low_sigmas' }],
  run: ({ sigmas, step }) => splitSigmas(sigmasOf(sigmas), step).map(sigmasTensor) as [ReturnType<typeof sigmasTensor>, ReturnType<typeof sigmasTensor>],
});
