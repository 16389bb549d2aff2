import { defineNode } from '../../engine/graph/node.ts';
import { asSdModel, sdTurboSigmas, sigmasTensor } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'SDTurboScheduler',
  category: 'sampling/schedulers',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      steps: { type: 'INT', default: 1, min: 1, max: 10 },
      denoise: { type: 'FLOAT', default: 1.0, min: 0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ model, steps, denoise }) => [sigmasTensor(sdTurboSigmas(asSdModel(model).modelSampling, steps, denoise))],
});
