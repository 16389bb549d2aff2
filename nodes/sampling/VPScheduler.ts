import { defineNode } from '../../engine/graph/node.ts';
import { sigmasTensor, vpSigmas } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'VPScheduler',
  category: 'sampling/schedulers',
  inputs: {
    required: {
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      beta_d: { type: 'FLOAT', default: 19.9, min: 0.0, max: 5000.0, step: 0.01, round: false, advanced: true },
      beta_min: { type: 'FLOAT', default: 0.1, min: 0.0, max: 5000.0, step: 0.01, round: false, advanced: true },
      eps_s: { type: 'FLOAT', default: 0.001, min: 0.0, max: 1.0, step: 0.0001, round: false, advanced: true },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ steps, beta_d, beta_min, eps_s }) => [sigmasTensor(vpSigmas(steps, beta_d, beta_min, eps_s))],
});
