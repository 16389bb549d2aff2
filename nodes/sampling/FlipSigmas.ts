import { defineNode } from '../../engine/graph/node.ts';
import { flipSigmas, sigmasOf, sigmasTensor } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'FlipSigmas',
  category: 'sampling/sigmas',
  inputs: {
    required: {
      sigmas: { type: 'SIGMAS' },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ sigmas }) => [sigmasTensor(flipSigmas(sigmasOf(sigmas)))],
});
