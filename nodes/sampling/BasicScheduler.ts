import { defineNode } from '../../engine/graph/node.ts';
import { SCHEDULER_NAMES } from '../../engine/sampling/names.ts';
import { asSdModel, basicSigmas, sigmasTensor } from '../../engine/models/sd/index.ts';

export default defineNode({
  name: 'BasicScheduler',
  category: 'sampling/schedulers',
  inputs: {
    required: {
      model: { type: 'MODEL' },
      scheduler: { type: 'COMBO', options: { kind: 'custom', list: () => [...SCHEDULER_NAMES] } },
      steps: { type: 'INT', default: 20, min: 1, max: 10000 },
      denoise: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.01 },
    },
  },
  outputs: [{ type: 'SIGMAS' }],
  run: ({ model, scheduler, steps, denoise }) => [sigmasTensor(basicSigmas(asSdModel(model).modelSampling, scheduler, steps, denoise))],
});
