import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SamplerDPMPP_3M_SDE',
  category: 'sampling/samplers',
  inputs: {
    required: {
      eta: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
      s_noise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
      noise_device: { type: 'COMBO', options: ['gpu', 'cpu'], advanced: true },
    },
  },
  outputs: [{ type: 'SAMPLER' }],
  run: ({ eta, s_noise }) => [{ name: 'dpmpp_3m_sde', options: { eta, s_noise } }],
});
