import { defineNode } from '../../engine/graph/node.ts';
import { sigmasOf, sigmasTensor, splitSigmasDenoise } from '../../engine/models/sd/index.ts';

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
  run: ({ sigmas, denoise }) => splitSigmasDenoise(sigmasOf(sigmas), denoise).map(sigmasTensor) as [ReturnType<typeof sigmasTensor>, ReturnType<typeof sigmasTensor>],
});
