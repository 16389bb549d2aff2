import { defineNode } from '../../engine/graph/node.ts';

export default defineNode({
  name: 'ControlNetApplyAdvanced',
  displayName: 'Apply ControlNet',
  category: 'conditioning/controlnet',
  inputs: {
    required: {
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      control_net: { type: 'CONTROL_NET' },
      image: { type: 'IMAGE' },
      strength: { type: 'FLOAT', default: 1.0, min: 0.0, max: 10.0, step: 0.01 },
      start_percent: { type: 'FLOAT', default: 0.0, min: 0.0, max: 1.0, step: 0.001 },
      end_percent: { type: 'FLOAT', default: 1.0, min: 0.0, max: 1.0, step: 0.001 },
    },
    optional: {
      vae: { type: 'VAE' },
    },
  },
  outputs: [{ type: 'CONDITIONING', name: 'positive' }, { type: 'CONDITIONING', name: 'negative' }],
});
