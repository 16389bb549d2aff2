import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'SamplerDPMPP_2M_SDE',
  category: 'sampling/samplers',
  inputs: {
    required: {
      solver_type: { type: 'COMBO', options: ['midpoint', 'heun'] },
      eta: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
      s_noise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
      noise_device: { type: 'COMBO', options: ['gpu', 'cpu'], advanced: true },
    },
  },
  outputs: [{ type: 'SAMPLER' }],
  // noise_device only picks where torch draws the Brownian noise; there is one device here.
  run: ({ solver_type, eta, s_noise }) => [{ name: 'dpmpp_2m_sde', options: { eta, s_noise, solver_type } }],
});
