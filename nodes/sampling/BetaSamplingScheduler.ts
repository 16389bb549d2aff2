import { defineNode } from '../../engine/graph/node.ts';
import { betaSigmas } from '../../engine/sampling/schedulers.ts';
import { asSdModel, sigmasTensor } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'BetaSamplingScheduler',
  category: 'sampling/schedulers',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      alpha: { type: 'FLOAT', default: 0.6, min: 0.0, max: 50.0, step: 0.01, round: false, advanced: true },
      beta: { type: 'FLOAT', default: 0.6, min: 0.0, max: 50.0, step: 0.01, round: false, advanced: true },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ model, steps, alpha, beta }) => [sigmasTensor(betaSigmas(asSdModel(model).modelSampling, steps, alpha, beta))],
});
