import { defineNode } from '../../engine/graph/node.ts';
import { polyexponentialSigmas, sigmasTensor } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'PolyexponentialScheduler',
  category: 'sampling/schedulers',
  inputs: {
    required: {
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      sigma_max: { type: 'FLOAT', default: 14.614642, min: 0.0, max: 5000.0, step: 0.01, round: false, advanced: true },
      sigma_min: { type: 'FLOAT', default: 0.0291675, min: 0.0, max: 5000.0, step: 0.01, round: false, advanced: true },
      rho: { type: 'FLOAT', default: 1.0, min: 0.0, max: 100.0, step: 0.01, round: false, advanced: true },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ steps, sigma_max, sigma_min, rho }) => [sigmasTensor(polyexponentialSigmas(steps, sigma_min, sigma_max, rho))],
});
