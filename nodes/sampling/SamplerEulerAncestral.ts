import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SamplerEulerAncestral',
  category: 'sampling/samplers',
  inputs: {
    required: {
      eta: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
      s_noise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
    },
  },
  outputs: [{ type: 'SAMPLER' }],
  run: ({ eta, s_noise }) => [{ name: 'euler_ancestral', options: { eta, s_noise } }],
});
